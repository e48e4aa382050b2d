package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/berthhq/berth/internal/egress"
)

// RetryAfter parses a Retry-After value, in seconds or as an HTTP date
// (RFC 9110 10.2.3), relative to now, capped at a day. Absent or unreadable
// values give 0.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

// IsLoopback reports whether host names this machine (localhost or a
// loopback address): plain http is allowed there only, for tests.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clients holds one *http.Client per allow-list (by its text), shared by the
// SCIM and webhook providers so that connections are reused across the
// providers the job workers open per job, and never across allow-lists.
var clients sync.Map // string → *http.Client

// HTTPClient returns the client for provider calls under the allow-list p
// (nil: egress.Default). Its transport checks every address it connects to
// against p, at connect time (egress.Policy.DialContext), so neither a name
// resolving to an internal address nor DNS rebinding gets past it. It uses
// no proxy from the environment: a proxy would connect to the target
// itself, out of reach of that check. It never follows redirects: a
// provider must be reached where it is configured, and a redirected POST
// would turn into a GET.
func HTTPClient(p *egress.Policy) *http.Client {
	if p == nil {
		p = egress.Default()
	}
	if c, ok := clients.Load(p.String()); ok {
		return c.(*http.Client)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = p.DialContext
	t.MaxIdleConnsPerHost = 16
	c, _ := clients.LoadOrStore(p.String(), &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	})
	return c.(*http.Client)
}

// Egress returns the allow-list a provider call connects under: the one
// set in the provider's configuration (tests), else the one ctx carries
// (app.Start puts BERTH_PROVIDER_ALLOWED_HOSTS there), else the default,
// external addresses only.
func Egress(ctx context.Context, set *egress.Policy) *egress.Policy {
	if set != nil {
		return set
	}
	return egress.FromContext(ctx)
}

// CallFailure classifies err, the failure of an HTTP provider's request to
// get an answer at all, and says it without the provider's secret (shown
// as label) in at most max bytes. rctx is the request's own context, ctx's
// child bounded by timeout. A connection the allow-list refused and a
// rejected TLS certificate are PoolPermanent (no retry can pass them);
// ctx ending, the time-out and any other failure to connect or read are
// Retryable. The SCIM and webhook providers wrap the result in their own
// prefix.
func CallFailure(ctx, rctx context.Context, timeout time.Duration, err error, secret, label string, max int) (Class, error) {
	if re := egress.Refused(err); re != nil {
		return PoolPermanent, re
	}
	err = Scrub(err, secret, label, max)
	switch {
	case ctx.Err() != nil:
		return Retryable, fmt.Errorf("%w (%v)", ctx.Err(), err)
	case rctx.Err() != nil:
		return Retryable, fmt.Errorf("timed out after %v", timeout)
	}
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	if errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) {
		return PoolPermanent, fmt.Errorf("TLS certificate rejected: %w", err)
	}
	return Retryable, Scrub(TransportError(err), secret, label, max)
}

// Summary makes s, text a provider's server sent (a SCIM error's detail),
// fit for an error that viewers read in a seat's last error and the
// history: secret-looking runs (24 or more letters, digits or -_+/= in a
// row: tokens, keys, hashes) are masked, control characters and runs of
// spaces become one space, and the result is cut to max bytes.
func Summary(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || !unicode.IsPrint(r)
	}), " ")
	s = secretRun.ReplaceAllString(s, "[…]")
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

var secretRun = regexp.MustCompile(`[A-Za-z0-9_+/=-]{24,}`)

// TransportError returns err, a failure to get an answer from a provider's
// server, with a message that keeps what berth saw (a refused or reset
// connection, a failed look-up, a closed connection) and drops what the
// server sent: Go's HTTP client quotes the first bytes of an answer that is
// not HTTP (a Redis or SSH banner). It unwraps to err.
func TransportError(err error) error {
	var (
		dns *net.DNSError
		op  *net.OpError
		msg string
	)
	switch {
	case errors.As(err, &dns):
		msg = dns.Error()
	case errors.As(err, &op):
		msg = op.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		msg = "the server closed the connection without an answer"
	default:
		var ue *url.Error
		inner := err
		if errors.As(err, &ue) {
			inner = ue.Err
		}
		msg = inner.Error()
		if i := strings.IndexAny(msg, "\"'`"); i >= 0 {
			msg = strings.TrimRight(msg[:i], " :") + " (the answer is not HTTP)"
		}
		if i := strings.Index(msg, "malformed"); i >= 0 {
			msg = msg[:i] + "malformed answer (not HTTP)"
		}
	}
	return Scrubbed{Msg: Summary(msg, 200), Err: err}
}
