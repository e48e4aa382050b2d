package placement

import "fmt"

// Place chooses a pool for the member described by req. It does not change
// what the index knows of any pool: record the placement with Commit once
// the database accepted it, or MarkFull the pool if the database refused,
// and ask again.
//
// Degraded pools (SetHealth) come after every healthy one: one is chosen
// only when no healthy pool that passes the filters has room.
//
// The cost is O(log n + k + x) for n pools, k = TopK and x excluded pools;
// the filter counts come from counters kept per kind. The first request for
// a new set of label constraints also builds that set's ordered sets, once.
func (ix *Index) Place(req Request) Decision {
	ex := Explanation{
		Kind:        req.Kind,
		Strategy:    req.Strategy.effective(),
		AffinityKey: req.AffinityKey,
		Filtered:    map[Reason]int{},
	}
	ks := ix.kinds[req.Kind]
	if ks == nil || ks.total == 0 {
		return Decision{Explanation: ex}
	}
	ex.Considered = ks.total
	for st, n := range ks.status {
		ex.Filtered[StatusReason(st)] += n
	}
	if ks.full > 0 {
		ex.Filtered[ReasonFull] = ks.full
	}
	part := ix.partition(req.Kind, ks, req.Labels)
	if n := ks.eligible - part.free.len(); n > 0 {
		ex.Filtered[labelReason(req.Labels)] = n
	}

	excl := ix.exclusions(req.Exclude, part)
	if excl.n() > 0 {
		ex.Filtered[ReasonExcluded] = excl.n()
	}
	ex.Eligible = part.free.len() - excl.n()
	if ex.Eligible == 0 {
		return Decision{Explanation: ex}
	}

	if part.degraded > 0 {
		ex.Degraded = part.degraded - excl.degraded()
	}

	// Each order puts healthy pools first (cmpTier), so the walks below
	// meet the degraded pools only once every healthy eligible pool is
	// listed: fewer than TopK of them, plus the excluded ones.
	key := req.AffinityKey
	top := make([]Candidate, 0, TopK)
	collect := func(t *tree, skipHolders, degraded bool, score func(*entry) float64) {
		t.ascend(func(e *entry) bool {
			if e.degraded != degraded {
				return degraded // the healthy prefix is skipped; the degraded tail ends a healthy walk
			}
			if excl.has(e) || (skipHolders && e.keys[key] > 0) {
				return true
			}
			top = append(top, candidate(e, key, score(e)))
			return len(top) < TopK
		})
	}
	var held *tree
	if ex.Strategy == StrategyPack && key != "" {
		held = part.held[key]
	}
	for _, degraded := range []bool{false, true} {
		if degraded && (part.degraded == 0 || len(top) == TopK) {
			break
		}
		switch {
		case ex.Strategy == StrategySpread:
			collect(part.loadTree(), false, degraded, func(e *entry) float64 {
				return ScoreSpreadWeighted(e.pool.Used, e.pool.Capacity, e.pool.Weight)
			})
		default:
			// Holders of the key first (affinity), then the pools with the
			// most free room, skipping the holders already listed (fewer
			// than TopK, so the walk stays short). A healthy pool outranks
			// a degraded holder.
			if held != nil {
				collect(held, false, degraded, func(e *entry) float64 { return ScorePack(true, e.free) })
			}
			if len(top) < TopK {
				collect(part.free, held != nil, degraded, func(e *entry) float64 { return ScorePackWeighted(false, e.free, e.pool.Weight) })
			}
		}
	}
	holder := ex.Strategy == StrategyPack && top[0].HoldsKey

	w := ix.pools[top[0].ID].pool
	ex.Winner, ex.WinnerID, ex.Score = w.Name, w.ID, top[0].Score
	ex.Rule = ex.rule(holder)
	if top[0].Degraded {
		ex.Rule += fmt.Sprintf("; health %.2f: no healthy pool can take it", top[0].Health)
	}
	ex.Top = top
	return Decision{Pool: &w, Explanation: ex}
}

// exclusion is the set of excluded pools that passed every other filter.
// Exclude lists are short, so a slice is searched; a long one gets a map.
type exclusion struct {
	list []*entry
	set  map[*entry]bool
}

func (x exclusion) n() int { return len(x.list) }

// degraded is the number of degraded pools among the excluded.
func (x exclusion) degraded() int {
	n := 0
	for _, e := range x.list {
		if e.degraded {
			n++
		}
	}
	return n
}

func (x exclusion) has(e *entry) bool {
	if x.set != nil {
		return x.set[e]
	}
	for _, y := range x.list {
		if y == e {
			return true
		}
	}
	return false
}

// exclusions returns the distinct excluded pools that are in p.
func (ix *Index) exclusions(ids []int64, p *partition) exclusion {
	var x exclusion
	if len(ids) > 8 {
		x.set = make(map[*entry]bool, len(ids))
	}
	for _, id := range ids {
		e := ix.pools[id]
		if e == nil || !e.isIn(p) || x.has(e) {
			continue
		}
		x.list = append(x.list, e)
		if x.set != nil {
			x.set[e] = true
		}
	}
	return x
}

func candidate(e *entry, key string, score float64) Candidate {
	return Candidate{
		ID:       e.pool.ID,
		Name:     e.pool.Name,
		Used:     e.pool.Used,
		Capacity: e.pool.Capacity,
		Priority: e.pool.Priority,
		HoldsKey: key != "" && e.keys[key] > 0,
		Score:    score,
		Health:   e.health,
		Degraded: e.degraded,
	}
}
