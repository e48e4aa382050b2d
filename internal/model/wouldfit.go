package model

// FitChange is one single change that would place a queued member now
// (issue 14 §1, "would_fit"): raise a full pool's capacity by one, set a
// pool's status to active, lift an exclusion, or add a pool with the
// member's labels. Field, From and To are for machines (From and To are
// decimal numbers for a capacity, statuses for a status); Change says the
// same for people, in English ("capacity 5 → 6"). The console words it in
// the reader's language from the machine fields. placement's
// Index.WouldFit produces them, cheapest first (docs/design.md, "What
// would fit").
type FitChange struct {
	Pool   string `json:"pool,omitempty"`
	PoolID int64  `json:"pool_id,omitempty"`
	// Field is one of FitCapacity, FitStatus, FitExclusion, FitAddPool.
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	// Kind and Labels describe the pool to add (FitAddPool).
	Kind   Kind              `json:"kind,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Change string            `json:"change"`
}

// FitChange fields, cheapest first.
const (
	FitCapacity  = "capacity"
	FitStatus    = "status"
	FitExclusion = "exclusion"
	FitAddPool   = "add_pool"
)

// FitFields lists every FitChange field, cheapest first.
func FitFields() []string { return []string{FitCapacity, FitStatus, FitExclusion, FitAddPool} }
