package auth

import (
	"time"

	"github.com/berthhq/berth/internal/ratelimit"
)

// newAddrLimiter limits sign-in attempts per client address. It lives in
// memory (per replica); the lockout, which matters more, lives in the
// database.
func newAddrLimiter(perSecond float64, burst int) *ratelimit.PerKey {
	return ratelimit.New(perSecond, burst, time.Hour)
}
