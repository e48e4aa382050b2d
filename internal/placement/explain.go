package placement

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/model"
)

// Reason names the filter that dropped a pool.
type Reason string

// Reasons a pool is dropped. The first five are the statuses other than
// active (see [StatusReason]).
const (
	ReasonPaused            Reason = "paused"
	ReasonDraining          Reason = "draining"
	ReasonBanned            Reason = "banned"
	ReasonCredentialInvalid Reason = "credential_invalid"
	ReasonOffline           Reason = "offline"
	// ReasonFull: the pool is active but has no free room, or the database
	// refused a seat in it (see [Index.MarkFull]).
	ReasonFull Reason = "full"
	// ReasonLabelMismatch: the pool lacks a label the request asks for.
	ReasonLabelMismatch Reason = "label mismatch"
	// ReasonGroupMismatch is ReasonLabelMismatch when the request's only
	// constraint is the "group" label.
	ReasonGroupMismatch Reason = "group mismatch"
	// ReasonExcluded: the request excluded the pool.
	ReasonExcluded Reason = "excluded"
)

// Reasons lists every reason in the order the filters run, which is also
// the order [Explanation.String] prints them in. Pools of another kind are
// never considered, so there is no reason for them.
func Reasons() []Reason {
	return []Reason{
		ReasonPaused, ReasonDraining, ReasonBanned, ReasonCredentialInvalid, ReasonOffline,
		ReasonFull, ReasonLabelMismatch, ReasonGroupMismatch, ReasonExcluded,
	}
}

// StatusReason is the reason a pool with status s is dropped. An unknown
// status is its own reason.
func StatusReason(s model.PoolStatus) Reason { return Reason(s) }

// labelReason is the reason counted for the pools a request's label
// constraints (and group isolation) drop: a group mismatch when the
// request names only a group, or nothing (it then loses only the pools
// closed to it); a label mismatch otherwise.
func labelReason(cons map[string]string) Reason {
	if _, ok := cons[GroupLabel]; len(cons) == 0 || ok && len(cons) == 1 {
		return ReasonGroupMismatch
	}
	return ReasonLabelMismatch
}

// TopK is how many candidates an [Explanation] keeps.
const TopK = 3

// Candidate is one eligible pool as the strategy ranked it.
type Candidate struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Used     int    `json:"used"`
	Capacity int    `json:"capacity"`
	Priority int    `json:"priority"`
	// HoldsKey reports whether the pool already holds the request's
	// affinity key.
	HoldsKey bool `json:"holds_key"`
	// Score is [ScorePack] or [ScoreSpread], after the strategy.
	Score float64 `json:"score"`
	// Health is the pool's health score in [0, 1] ([Index.SetHealth]);
	// Degraded pools rank after every healthy one.
	Health   float64 `json:"health"`
	Degraded bool    `json:"degraded,omitempty"`
}

// Explanation says why a member went where it went, or why it could not be
// placed. Considered equals Eligible plus the sum of Filtered.
type Explanation struct {
	Kind        model.Kind `json:"kind"`
	Strategy    Strategy   `json:"strategy"`
	AffinityKey string     `json:"affinity_key,omitempty"`
	// Considered is the number of pools of the request's kind.
	Considered int `json:"considered"`
	// Filtered counts the pools each filter dropped; each pool is counted
	// once, under the first filter that drops it (status, full, labels,
	// excluded). Only non-zero counts are present.
	Filtered map[Reason]int `json:"filtered"`
	// Eligible is the number of pools that passed every filter.
	Eligible int `json:"eligible"`
	// Degraded is how many of the eligible pools were down-ranked for
	// their health ([Index.SetHealth]): they come after every healthy one.
	Degraded int `json:"degraded,omitempty"`
	// Winner, WinnerID and Score describe the chosen pool; zero when none.
	Winner   string  `json:"winner,omitempty"`
	WinnerID int64   `json:"winner_id,omitempty"`
	Score    float64 `json:"score,omitempty"`
	// Rule is the rule that chose, e.g. "affinity: fullest pool already
	// holding script A that has room".
	Rule string `json:"rule,omitempty"`
	// Top holds up to TopK candidates, best first; Top[0] is the winner.
	Top []Candidate `json:"top,omitempty"`
}

// Placed reports whether a pool was chosen.
func (e Explanation) Placed() bool { return len(e.Top) > 0 }

// Rule wordings.
const (
	ruleLeastLoaded = "least loaded"
	ruleMostFree    = "most free room"
)

// keyNoun names an affinity key for people: servers hold scripts.
func keyNoun(kind model.Kind, key string) string {
	if kind == model.KindServer {
		return "script " + key
	}
	return "key " + key
}

// rule returns the long wording of the rule that chose the winner.
func (e Explanation) rule(holder bool) string {
	switch {
	case e.Strategy == StrategySpread:
		return ruleLeastLoaded
	case holder:
		return "affinity: fullest pool already holding " + keyNoun(e.Kind, e.AffinityKey) + " that has room"
	case e.AffinityKey != "":
		return ruleMostFree + " (no eligible pool holds " + keyNoun(e.Kind, e.AffinityKey) + " yet)"
	default:
		return ruleMostFree
	}
}

// String is a one-line summary for people, e.g.
//
//	worker-01 (holds script A, 3/5 used; affinity pack) — 3 pools: 1 offline, 1 full
//	no pool can take it — 3 pools: 1 offline, 2 full
func (e Explanation) String() string {
	var b strings.Builder
	if len(e.Top) == 0 {
		b.WriteString("no pool can take it")
	} else {
		w := e.Top[0]
		b.WriteString(w.Name)
		b.WriteString(" (")
		if w.HoldsKey {
			b.WriteString("holds " + keyNoun(e.Kind, e.AffinityKey) + ", ")
		}
		fmt.Fprintf(&b, "%d/%d used; ", w.Used, w.Capacity)
		if w.Degraded {
			fmt.Fprintf(&b, "health %.2f, no healthy pool can take it; ", w.Health)
		}
		switch {
		case e.Strategy == StrategySpread:
			b.WriteString(ruleLeastLoaded)
		case w.HoldsKey:
			b.WriteString("affinity pack")
		case e.AffinityKey != "":
			b.WriteString(ruleMostFree + ", new " + keyNoun(e.Kind, e.AffinityKey))
		default:
			b.WriteString(ruleMostFree)
		}
		b.WriteString(")")
	}
	b.WriteString(" — ")
	b.WriteString(e.Summary())
	return b.String()
}

// Summary counts the pools and what dropped them, e.g.
// "3 pools: 1 offline, 1 full"; "3 pools: none filtered" when every pool
// was eligible.
func (e Explanation) Summary() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Considered))
	if e.Considered == 1 {
		b.WriteString(" pool")
	} else {
		b.WriteString(" pools")
	}
	if e.Considered == 0 {
		return b.String()
	}
	sep := ": "
	for _, r := range Reasons() {
		if n := e.Filtered[r]; n > 0 {
			fmt.Fprintf(&b, "%s%d %s", sep, n, r)
			sep = ", "
		}
	}
	// Unknown statuses are not in Reasons; print them last, sorted, so the
	// line stays deterministic.
	var extra []string
	for r, n := range e.Filtered {
		if n > 0 && !knownReason(r) {
			extra = append(extra, fmt.Sprintf("%d %s", n, r))
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		b.WriteString(sep + strings.Join(extra, ", "))
		sep = ", "
	}
	if sep == ": " {
		b.WriteString(": none filtered")
	}
	if e.Degraded > 0 {
		fmt.Fprintf(&b, "; %d down-ranked for health", e.Degraded)
	}
	return b.String()
}

func knownReason(r Reason) bool {
	for _, k := range Reasons() {
		if r == k {
			return true
		}
	}
	return false
}

// cause is the model's code for a reason: snake case, so it can be a
// catalogue key ("label mismatch" is "label_mismatch").
func (r Reason) cause() string { return strings.ReplaceAll(string(r), " ", "_") }

// Why is the explanation as data for people of any language
// ([model.Why]): the counts by cause and, when a pool was chosen, the pool
// and the rule that chose it.
func (e Explanation) Why() model.Why {
	w := model.Why{Kind: e.Kind, Considered: e.Considered, AffinityKey: e.AffinityKey, Degraded: e.Degraded}
	for r, n := range e.Filtered {
		if n > 0 {
			if w.Filtered == nil {
				w.Filtered = map[string]int{}
			}
			w.Filtered[r.cause()] += n
		}
	}
	if len(e.Top) == 0 {
		return w
	}
	top := e.Top[0]
	w.Pool, w.Used, w.Capacity = top.Name, top.Used, top.Capacity
	if top.Degraded {
		w.Health = top.Health
	}
	switch {
	case e.Strategy == StrategySpread:
		w.Rule = model.RuleLeastLoaded
	case top.HoldsKey:
		w.Rule = model.RuleAffinity
	case e.AffinityKey != "":
		w.Rule = model.RuleMostFreeNewKey
	default:
		w.Rule = model.RuleMostFree
	}
	return w
}
