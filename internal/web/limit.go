package web

// Default per-address limit of the public forms (BERTH_FORM_RATE,
// BERTH_FORM_BURST).
const (
	DefaultFormRate  = 5 // a second
	DefaultFormBurst = 20
)

// SetPublicRate sets the per-address limit of the public forms
// (BERTH_FORM_RATE and BERTH_FORM_BURST, and tests). It protects the
// process; the exact per-code limits live in the database.
func (w *Web) SetPublicRate(perSecond float64, burst int) { w.public.SetRate(perSecond, burst) }
