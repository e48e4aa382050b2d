package placement_test

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// reference is a naive model of the index: a map of pools and a plain scan
// per request, written straight from the rules in docs/design.md. The index must
// agree with it on every request.
type reference struct {
	pools map[int64]*refPool
}

type refPool struct {
	p      placement.Pool
	marked bool
	keys   map[string]int
	// degraded: Index.SetHealth said so; such pools rank after every
	// healthy one, in every strategy.
	degraded bool
}

// tier puts healthy pools before degraded ones.
func tier(a, b *refPool) int {
	switch {
	case a.degraded == b.degraded:
		return 0
	case b.degraded:
		return -1
	}
	return 1
}

func newReference() *reference { return &reference{pools: map[int64]*refPool{}} }

func (r *reference) upsert(p placement.Pool) {
	p.Capacity, p.Used = max(p.Capacity, 0), max(p.Used, 0)
	p.Labels = maps.Clone(p.Labels)
	if rp := r.pools[p.ID]; rp != nil {
		rp.p, rp.marked = p, false
		return
	}
	r.pools[p.ID] = &refPool{p: p, keys: map[string]int{}}
}

func (r *reference) commit(id int64, key string) {
	if rp := r.pools[id]; rp != nil {
		rp.p.Used++
		if key != "" {
			rp.keys[key]++
		}
	}
}

func (r *reference) release(id int64, key string) {
	if rp := r.pools[id]; rp != nil {
		rp.p.Used = max(rp.p.Used-1, 0)
		if rp.keys[key]--; rp.keys[key] <= 0 {
			delete(rp.keys, key)
		}
	}
}

func (r *reference) markFull(id int64) {
	if rp := r.pools[id]; rp != nil {
		rp.marked = true
	}
}

func (r *reference) free(rp *refPool) int {
	if rp.marked || rp.p.Used >= rp.p.Capacity {
		return 0
	}
	return rp.p.Capacity - rp.p.Used
}

// refResult is what the reference decides.
type refResult struct {
	considered, eligible int
	degraded             int // eligible pools down-ranked for health
	filtered             map[placement.Reason]int
	top                  []int64 // best first, at most TopK
}

// place scans every pool, filters in order status, full, labels, excluded,
// then sorts the eligible pools by the strategy's rule.
func (r *reference) place(req placement.Request) refResult {
	res := refResult{filtered: map[placement.Reason]int{}}
	labelReason := placement.ReasonLabelMismatch
	if _, ok := req.Labels["group"]; (ok && len(req.Labels) == 1) || len(req.Labels) == 0 {
		labelReason = placement.ReasonGroupMismatch
	}
	var eligible []*refPool
	for _, rp := range r.pools {
		if rp.p.Kind != req.Kind {
			continue
		}
		res.considered++
		switch {
		case rp.p.Status != model.StatusActive:
			res.filtered[placement.Reason(rp.p.Status)]++
		case r.free(rp) == 0:
			res.filtered[placement.ReasonFull]++
		case !hasLabels(rp.p.Labels, req.Labels):
			res.filtered[labelReason]++
		case slices.Contains(req.Exclude, rp.p.ID):
			res.filtered[placement.ReasonExcluded]++
		default:
			eligible = append(eligible, rp)
		}
	}
	res.eligible = len(eligible)
	for _, rp := range eligible {
		if rp.degraded {
			res.degraded++
		}
	}
	tie := func(a, b *refPool) int {
		return cmp.Or(cmp.Compare(a.p.Priority, b.p.Priority), strings.Compare(a.p.Name, b.p.Name), cmp.Compare(a.p.ID, b.p.ID))
	}
	if req.Strategy == placement.StrategySpread {
		slices.SortFunc(eligible, func(a, b *refPool) int {
			ra := float64(a.p.Used) / float64(a.p.Capacity*weight(a))
			rb := float64(b.p.Used) / float64(b.p.Capacity*weight(b))
			return cmp.Or(tier(a, b), cmp.Compare(ra, rb), tie(a, b))
		})
	} else {
		holds := func(rp *refPool) bool { return req.AffinityKey != "" && rp.keys[req.AffinityKey] > 0 }
		slices.SortFunc(eligible, func(a, b *refPool) int {
			if c := tier(a, b); c != 0 {
				return c
			}
			switch ha, hb := holds(a), holds(b); {
			case ha && !hb:
				return -1
			case hb && !ha:
				return 1
			case ha: // both hold the key: fullest first
				return cmp.Or(cmp.Compare(r.free(a), r.free(b)), tie(a, b))
			default: // most free room × weight first
				return cmp.Or(cmp.Compare(r.free(b)*weight(b), r.free(a)*weight(a)), tie(a, b))
			}
		})
	}
	for i := 0; i < len(eligible) && i < placement.TopK; i++ {
		res.top = append(res.top, eligible[i].p.ID)
	}
	return res
}

// hasLabels is the label filter: every wanted key=value, and group
// isolation (a pool with a group takes a request naming no group only when
// it carries open=true).
func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	if _, named := want["group"]; !named {
		if _, grouped := have["group"]; grouped && have["open"] != "true" {
			return false
		}
	}
	return true
}

// weight is a pool's weight, at least 1.
func weight(rp *refPool) int { return max(rp.p.Weight, 1) }

// scanBest is the cheapest naive placement, the baseline of the
// benchmarks: one pass over every pool that counts the filters and keeps
// the best pool so far (pack rule only, healthy pools first). It takes a slice, the fastest
// thing to scan.
func scanBest(pools []*refPool, req placement.Request) (int64, map[placement.Reason]int) {
	filtered := map[placement.Reason]int{}
	var best *refPool
	bestHolds, bestFree := false, 0
	for _, rp := range pools {
		if rp.p.Kind != req.Kind {
			continue
		}
		free := 0
		if !rp.marked && rp.p.Used < rp.p.Capacity {
			free = rp.p.Capacity - rp.p.Used
		}
		switch {
		case rp.p.Status != model.StatusActive:
			filtered[placement.Reason(rp.p.Status)]++
			continue
		case free == 0:
			filtered[placement.ReasonFull]++
			continue
		case !hasLabels(rp.p.Labels, req.Labels):
			filtered[placement.ReasonLabelMismatch]++
			continue
		case slices.Contains(req.Exclude, rp.p.ID):
			filtered[placement.ReasonExcluded]++
			continue
		}
		holds := req.AffinityKey != "" && rp.keys[req.AffinityKey] > 0
		better := best == nil
		if !better {
			switch {
			case rp.degraded != best.degraded:
				better = best.degraded
			case holds != bestHolds:
				better = holds
			case holds && free != bestFree:
				better = free < bestFree
			case !holds && free*weight(rp) != bestFree*weight(best):
				better = free*weight(rp) > bestFree*weight(best)
			default:
				better = cmp.Or(cmp.Compare(rp.p.Priority, best.p.Priority), strings.Compare(rp.p.Name, best.p.Name),
					cmp.Compare(rp.p.ID, best.p.ID)) < 0
			}
		}
		if better {
			best, bestHolds, bestFree = rp, holds, free
		}
	}
	if best == nil {
		return 0, filtered
	}
	return best.p.ID, filtered
}
