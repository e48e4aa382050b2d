// Package webhook provisions a team's users by calling a URL the operator
// wires up: every Put and Remove POSTs a signed JSON event
// (seat.provision, seat.deprovision) and the receiver does the rest.
//
// Each delivery carries the headers Berth-Signature
// ("t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>", the scheme of the
// well-known payment providers), Idempotency-Key (the event id, the same
// for every attempt of one operation, see EventID), Berth-Event (the type)
// and Berth-Delivery (unique per attempt). Verify and ReplayGuard check
// them on the receiving side; docs/webhooks.md describes the format for
// receivers in any language and shows a receiver in Go.
//
// Answers are classified as provider.Error: 2xx is done; 401 and 403 are
// pool-permanent (the receiver rejects berth's secret: the team becomes
// credential_invalid), so are redirects; 429 (with its Retry-After), 408,
// 5xx, timeouts and connection failures are retryable; any other 4xx is
// member-permanent for a provision or deprovision, pool-permanent for the
// ping of Check. A receiver cannot be listed: List returns ErrNoList.
//
// An error names the answer's status, never its body: errors end up in a
// seat's last error and the history, which viewers read. The receiver's
// address must be allowed by BERTH_PROVIDER_ALLOWED_HOSTS (package egress,
// checked when connecting); a refused one is pool-permanent.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/berthhq/berth/internal/provider"
)

// ErrNoList is what List returns: a webhook receiver has no way to say who
// it holds, so reconciliation skips webhook teams (test with errors.Is). It
// wraps provider.ErrCannotList, which is what callers outside this package
// test for.
var ErrNoList = fmt.Errorf("webhook: a webhook receiver cannot be listed; reconciliation skips webhook teams (%w)", provider.ErrCannotList)

// Provider delivers the events of one team to its receiver. It implements
// provider.Provider and is safe for concurrent use.
type Provider struct {
	cfg  Config
	pool string
	host string
	now  func() time.Time
}

var _ provider.Provider = (*Provider)(nil)

// New checks cfg and returns a provider for the team called pool. It does
// not connect.
func New(pool string, cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL) // Validate parsed it
	return &Provider{cfg: cfg, pool: pool, host: u.Host, now: time.Now}, nil
}

// Config returns the provider's configuration.
func (p *Provider) Config() Config { return p.cfg }

// Put sends a seat.provision event for m.ID.
func (p *Provider) Put(ctx context.Context, m provider.Member) error {
	return p.send(ctx, TypeProvision, m.ID)
}

// Remove sends a seat.deprovision event for m.ID.
func (p *Provider) Remove(ctx context.Context, m provider.Member) error {
	return p.send(ctx, TypeDeprovision, m.ID)
}

// List is not supported by webhooks: it returns ErrNoList.
func (p *Provider) List(context.Context) ([]string, error) { return nil, ErrNoList }

// Check sends a ping event; the receiver must answer 2xx.
func (p *Provider) Check(ctx context.Context) error { return p.send(ctx, TypePing, "") }

// Event builds the event that one attempt of an operation sends, signed at
// now. It is exported for tests and tools; Put, Remove and Check use it.
func (p *Provider) Event(typ, member string, now time.Time) Event {
	id := EventID(typ, p.pool, member)
	if typ == TypePing {
		id = randomID("evt_ping_")
	}
	return Event{ID: id, Type: typ, Created: now.Unix(), Delivery: randomID("dlv_"),
		Data: Data{Member: member, Pool: p.pool}}
}

// send delivers one event and classifies the answer.
func (p *Provider) send(ctx context.Context, typ, member string) error {
	if typ != TypePing {
		switch {
		case strings.TrimSpace(member) == "":
			return provider.Errorf(provider.MemberPermanent, "webhook %s: member has no id (e-mail address)", p.host)
		case strings.ContainsFunc(member, unicode.IsControl):
			return provider.Errorf(provider.MemberPermanent, "webhook %s: member id %q contains control characters", p.host, member)
		}
	}
	if err := ctx.Err(); err != nil {
		return p.fail(typ, provider.Retryable, 0, err)
	}
	now := p.now()
	ev := p.Event(typ, member, now)
	body, err := json.Marshal(ev)
	if err != nil {
		return p.fail(typ, provider.MemberPermanent, 0, err)
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, "POST", p.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return p.fail(typ, provider.PoolPermanent, 0, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "berth-webhook/1")
	req.Header.Set(SignatureHeader, Sign([]byte(p.cfg.Secret), now, body))
	req.Header.Set(IdempotencyHeader, ev.ID)
	req.Header.Set(EventHeader, typ)
	req.Header.Set(DeliveryHeader, ev.Delivery)

	// The connection is checked against the allow-list when dialed
	// (provider.HTTPClient), so a url that is or resolves to an internal
	// address is refused. Redirects are not followed.
	resp, err := provider.HTTPClient(provider.Egress(ctx, p.cfg.Egress)).Do(req)
	if err != nil {
		return p.transportError(ctx, rctx, typ, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // drained so the connection is reused
	s := resp.StatusCode
	if s >= 200 && s <= 299 {
		return nil
	}
	// The answer's body is never put in the error: viewers read it in a
	// seat's last error and the history, and a receiver (or whatever
	// answers at its address) may say anything there.
	msg := fmt.Errorf("HTTP %d%s", s, statusText(s))
	wait := provider.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return p.fail(typ, provider.PoolPermanent, 0, fmt.Errorf("the receiver rejected berth's signature or credentials (%w)", msg))
	case s == http.StatusTooManyRequests || s == http.StatusRequestTimeout || s >= 500:
		return p.fail(typ, provider.Retryable, wait, msg)
	case s >= 300 && s < 400:
		return p.fail(typ, provider.PoolPermanent, 0, fmt.Errorf("redirected to %q (%w); set url to where the receiver really is",
			provider.Summary(p.redact(resp.Header.Get("Location")), 120), msg))
	case s >= 400 && s < 500 && typ != TypePing:
		return p.fail(typ, provider.MemberPermanent, 0, msg)
	case s >= 400 && s < 500:
		return p.fail(typ, provider.PoolPermanent, 0, fmt.Errorf("the receiver refused the ping (%w)", msg))
	}
	return p.fail(typ, provider.Retryable, 0, msg)
}

func (p *Provider) fail(typ string, c provider.Class, wait time.Duration, err error) error {
	return &provider.Error{Class: c, RetryAfter: wait, Err: fmt.Errorf("webhook %s: %s: %w", p.host, typ, err)}
}

// transportError classifies a failure to get an answer at all
// (provider.CallFailure).
func (p *Provider) transportError(ctx, rctx context.Context, typ string, err error) error {
	class, err := provider.CallFailure(ctx, rctx, p.cfg.timeout(), err, p.cfg.Secret, "[secret]", 200)
	return p.fail(typ, class, 0, err)
}

// redact hides the secret in what the receiver sent: receivers know it, and
// a careless one may print it in an error page.
func (p *Provider) redact(s string) string {
	return provider.Redact(s, p.cfg.Secret, "[secret]")
}

// statusText is " " and the standard text of HTTP status s, or "".
func statusText(s int) string {
	if t := http.StatusText(s); t != "" {
		return " " + t
	}
	return ""
}
