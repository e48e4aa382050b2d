// Package providertest holds what the tests of several providers share:
// answering with any status and header a fuzzer makes up, through a real
// HTTP server, and checking that the allow-list refuses a test server.
package providertest

import (
	"context"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/egress"
	"github.com/berthhq/berth/internal/provider"
)

// FoldStatus maps any int onto a final HTTP status, 200 to 599.
func FoldStatus(s int) int {
	if s >= 200 && s <= 599 {
		return s
	}
	return 200 + ((s%400)+400)%400
}

// HeaderValue drops the bytes HTTP does not allow in a header value
// (controls), which a server would refuse to send as they are.
func HeaderValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// Loopback is the allow-list that lets a provider reach the test servers
// on 127.0.0.1, which the default (external addresses only) refuses.
var Loopback = egress.MustParse(egress.Loopback)

// WantRefused fails t unless both Check and Put of m, called with ctx, fail
// pool-permanent with an error that unwraps to *egress.RefusedError and
// says want. where names the target in the failure.
func WantRefused(t testing.TB, ctx context.Context, p provider.Provider, m provider.Member, where, want string) {
	t.Helper()
	for name, err := range map[string]error{"check": p.Check(ctx), "put": p.Put(ctx, m)} {
		if provider.Classify(err) != provider.PoolPermanent || egress.Refused(err) == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s %s under the default: %v, want a pool-permanent refusal containing %q", name, where, err, want)
		}
	}
}
