package model

import "time"

// Why is a placement's explanation kept as data, so each reader can have it
// in their own language (the console renders it in Chinese or English; the
// API gives it beside its stable English reason text). placement's
// Explanation.Why produces it; it is stored as JSON beside the text
// (queue.why, members.why, history.why). Old rows have none and keep
// showing their text.
type Why struct {
	Kind Kind `json:"kind"`
	// Considered is the number of pools of the kind.
	Considered int `json:"considered"`
	// Filtered counts the pools each cause dropped (see WhyCauses); only
	// non-zero counts are present.
	Filtered map[string]int `json:"filtered,omitempty"`
	// Pool is the chosen pool, with its room before the seat; empty when
	// none could take the member.
	Pool     string `json:"pool,omitempty"`
	Used     int    `json:"used,omitempty"`
	Capacity int    `json:"capacity,omitempty"`
	// Rule is the rule that chose the pool (see WhyRules); empty when none.
	Rule        string `json:"rule,omitempty"`
	AffinityKey string `json:"affinity_key,omitempty"`
	// Contended is set when there was room but the database refused that
	// many pools in a row (other replicas placing).
	Contended int `json:"contended,omitempty"`
	// ExcludedUntil: when the exclusion of a pool that refused the member
	// lapses (zero: none).
	ExcludedUntil time.Time `json:"excluded_until,omitzero"`
	// Degraded counts the eligible pools placement put after the healthy
	// ones for their health (package health); Health is the chosen pool's
	// score when it is one of them (no healthy pool could take the member).
	Degraded int     `json:"degraded,omitempty"`
	Health   float64 `json:"health,omitempty"`
	// Removing names the team a queued member is still being taken out
	// of: it had room, but a new seat there waits for that removal to end
	// (the member is placed when it does). It is the member's own team, so
	// the public answer keeps it.
	Removing string `json:"removing,omitempty"`
}

// Causes a pool is dropped, in the order placement's filters run. An
// unknown pool status is its own cause.
const (
	CausePaused            = "paused"
	CauseDraining          = "draining"
	CauseBanned            = "banned"
	CauseCredentialInvalid = "credential_invalid"
	CauseOffline           = "offline"
	CauseFull              = "full"
	CauseLabelMismatch     = "label_mismatch"
	CauseGroupMismatch     = "group_mismatch"
	CauseExcluded          = "excluded"
)

// WhyCauses lists every cause in the order the filters run.
func WhyCauses() []string {
	return []string{CausePaused, CauseDraining, CauseBanned, CauseCredentialInvalid, CauseOffline,
		CauseFull, CauseLabelMismatch, CauseGroupMismatch, CauseExcluded}
}

// Rules that choose a pool.
const (
	// RuleAffinity: the fullest pool already holding the affinity key that
	// has room.
	RuleAffinity = "affinity"
	// RuleMostFree: the pool with the most free room.
	RuleMostFree = "most_free"
	// RuleMostFreeNewKey: the most free room; no eligible pool holds the
	// affinity key yet.
	RuleMostFreeNewKey = "most_free_new_key"
	// RuleLeastLoaded: the least loaded pool (spread strategy).
	RuleLeastLoaded = "least_loaded"
)

// WhyRules lists every rule.
func WhyRules() []string {
	return []string{RuleAffinity, RuleMostFree, RuleMostFreeNewKey, RuleLeastLoaded}
}

// Placed reports whether a pool was chosen.
func (w *Why) Placed() bool { return w != nil && w.Pool != "" }
