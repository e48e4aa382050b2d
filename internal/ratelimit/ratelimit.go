// Package ratelimit keeps a token bucket per key (a client address) in
// process memory. It protects one process from floods; limits that must be
// exact across replicas (rebinds per code, sign-in lockout) live in the
// database instead.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// PerKey is a set of token buckets, one per key, forgotten after idle.
type PerKey struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	idle    time.Duration
	clients map[string]*client
	swept   time.Time
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns buckets refilling perSecond, holding burst, and forgotten
// after idle without use.
func New(perSecond float64, burst int, idle time.Duration) *PerKey {
	return &PerKey{every: rate.Limit(perSecond), burst: burst, idle: idle, clients: map[string]*client{}}
}

// Allow takes one token for key at now, or says how long to wait.
func (l *PerKey) Allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, c := range l.clients {
			if now.Sub(c.seen) > l.idle {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	c := l.clients[key]
	if c == nil {
		c = &client{lim: rate.NewLimiter(l.every, l.burst)}
		l.clients[key] = c
	}
	c.seen = now
	res := c.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}
