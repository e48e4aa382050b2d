package web

import (
	"time"

	"github.com/berthhq/berth/internal/ratelimit"
)

// Default per-address limit of the public forms (BERTH_FORM_RATE,
// BERTH_FORM_BURST).
const (
	DefaultFormRate  = 5 // a second
	DefaultFormBurst = 20
)

// newIPLimiter is the per-address limit of the public forms. It protects the
// process; the exact per-code limits live in the database. The address is
// the client's as the clientip middleware found it (internal/clientip).
func newIPLimiter(perSecond float64, burst int) *ratelimit.PerKey {
	return ratelimit.New(perSecond, burst, 10*time.Minute)
}

// SetPublicRate sets the per-address limit of the public forms
// (BERTH_FORM_RATE and BERTH_FORM_BURST, and tests).
func (w *Web) SetPublicRate(perSecond float64, burst int) { w.public = newIPLimiter(perSecond, burst) }
