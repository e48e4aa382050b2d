package web

import (
	"time"

	"github.com/berthhq/berth/internal/ratelimit"
)

// newIPLimiter is the per-address limit of the public forms. It protects the
// process; the exact per-code limits live in the database.
func newIPLimiter(perSecond float64, burst int) *ratelimit.PerKey {
	return ratelimit.New(perSecond, burst, 10*time.Minute)
}

// SetPublicRate sets the per-address limit of the public forms (tests).
func (w *Web) SetPublicRate(perSecond float64, burst int) { w.public = newIPLimiter(perSecond, burst) }
