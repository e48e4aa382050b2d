package httpx

import (
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/clientip"
	"github.com/berthhq/berth/internal/ratelimit"
)

// ErrTooManyRequests is the refusal of a request over the per-address limit.
var ErrTooManyRequests = errors.New("too many requests from your address; wait a little and try again")

// Limiter is a front end's per-address limit of its Limited routes: a
// token bucket per client address (behind a trusted proxy, the one the
// clientip middleware found; an IPv6 client by its /64). It protects the
// process; exact limits (rebinds per code, sign-in lockout) live in the
// database.
type Limiter struct {
	keys atomic.Pointer[ratelimit.PerKey]
	now  func() time.Time
}

// NewLimiter returns a limit refilling perSecond per address, holding burst.
func NewLimiter(perSecond float64, burst int) *Limiter {
	l := &Limiter{now: time.Now}
	l.SetRate(perSecond, burst)
	return l
}

// SetRate replaces the limit (the buckets start full again).
func (l *Limiter) SetRate(perSecond float64, burst int) {
	l.keys.Store(ratelimit.New(perSecond, burst, 10*time.Minute))
}

// key is the key a request is counted under: its client address, an IPv6
// client by its /64.
func key(r *http.Request) string { return clientip.Key(auth.RemoteIP(r)) }

// Handler counts each request against its address's bucket; over the limit
// it sets Retry-After (whole seconds) and refuses with 429 and
// ErrTooManyRequests, before next runs.
func (l *Limiter) Handler(refuse Refuse, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := l.keys.Load().Allow(key(r), l.now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			refuse(w, r, http.StatusTooManyRequests, ErrTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}
