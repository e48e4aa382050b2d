package placement_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// gen draws random pools, operations and requests from a seeded PCG, so a
// failure is replayed by its seed.
type gen struct{ r *rand.Rand }

var (
	genNames    = []string{"a", "b", "c", "d", "e", "f", "g", "h"} // few, so names tie and ids break ties
	genKeys     = []string{"", "A", "B", "C", "D"}
	genStatuses = model.PoolStatuses()
	genKinds    = model.Kinds()
)

func (g gen) pick(n int) int { return g.r.IntN(n) }

func (g gen) labels() map[string]string {
	m := map[string]string{}
	if g.pick(3) > 0 {
		m["group"] = []string{"vip", "std"}[g.pick(2)]
	}
	if g.pick(2) == 0 {
		m["region"] = []string{"us", "eu"}[g.pick(2)]
	}
	if g.pick(4) == 0 {
		m["open"] = []string{"true", "no"}[g.pick(2)] // group isolation's opt-in
	}
	if len(m) == 0 && g.pick(2) == 0 {
		return nil
	}
	return m
}

func (g gen) pool(id int64) placement.Pool {
	status := model.StatusActive
	if g.pick(3) == 0 {
		status = genStatuses[g.pick(len(genStatuses))]
	}
	capacity := g.pick(7) - 1 // sometimes negative
	return placement.Pool{
		ID:       id,
		Name:     genNames[g.pick(len(genNames))],
		Kind:     genKinds[g.pick(5)/4], // mostly servers
		Capacity: capacity,
		Used:     g.pick(capacity+3) - 1, // sometimes negative or over capacity
		Status:   status,
		Labels:   g.labels(),
		Priority: g.pick(3),
		Weight:   []int{0, 1, 1, 2, 3, -1}[g.pick(6)],
	}
}

func (g gen) request(maxID int64) placement.Request {
	req := placement.Request{
		Kind:        genKinds[g.pick(5)/4],
		AffinityKey: genKeys[g.pick(len(genKeys))],
		Strategy:    []placement.Strategy{"", placement.StrategyPack, placement.StrategySpread}[g.pick(3)],
	}
	switch g.pick(5) {
	case 0:
		req.Labels = map[string]string{"group": "vip"}
	case 1:
		req.Labels = map[string]string{"group": "nobody"}
	case 2:
		req.Labels = g.labels()
	}
	n := g.pick(4)
	if g.pick(10) == 0 {
		n = 9 + g.pick(6) // long enough for the map path
	}
	for range n {
		req.Exclude = append(req.Exclude, int64(g.pick(int(maxID)+2)))
	}
	return req
}

// TestIndex_MatchesReference applies random operations to an index and to
// the naive reference and checks, after every step, that both answer random
// requests the same: winner, runners-up, filter counts.
func TestIndex_MatchesReference(t *testing.T) {
	const (
		steps    = 400
		requests = 6
		maxPools = 50
	)
	for seed := uint64(1); seed <= 25; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			g := gen{rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
			ref := newReference()
			var initial []placement.Pool
			for id := range int64(g.pick(maxPools)) {
				p := g.pool(id + 1)
				initial = append(initial, p)
				ref.upsert(p)
			}
			affinity := map[int64]map[string]int{}
			for _, p := range initial {
				if g.pick(2) == 0 {
					k := genKeys[1+g.pick(len(genKeys)-1)]
					n := 1 + g.pick(3)
					affinity[p.ID] = map[string]int{k: n}
					ref.pools[p.ID].keys[k] = n
				}
			}
			ix := placement.NewIndex(initial, affinity)
			nextID := int64(len(initial)) + 1

			ids := func() []int64 { return slices.Sorted(maps.Keys(ref.pools)) }
			anyID := func() int64 { // mostly a known pool, sometimes not
				if all := ids(); len(all) > 0 && g.pick(10) > 0 {
					return all[g.pick(len(all))]
				}
				return nextID + 7
			}
			for step := range steps {
				var op string
				switch n := g.pick(20); {
				case n < 2 && len(ref.pools) < maxPools:
					p := g.pool(nextID)
					nextID++
					op = fmt.Sprintf("add %+v", p)
					ix.Upsert(p)
					ref.upsert(p)
				case n < 5:
					id := anyID()
					p := g.pool(id)
					if old, ok := ref.pools[id]; ok && g.pick(2) == 0 {
						p = old.p // same pool, one field changed
						switch g.pick(5) {
						case 0:
							p.Status = genStatuses[g.pick(len(genStatuses))]
						case 1:
							p.Capacity = g.pick(7)
						case 2:
							p.Labels = g.labels()
						case 3:
							p.Priority = g.pick(3)
						case 4:
							p.Weight = g.pick(4)
						}
					}
					op = fmt.Sprintf("upsert %+v", p)
					ix.Upsert(p)
					ref.upsert(p)
				case n < 12:
					id, key := anyID(), genKeys[g.pick(len(genKeys))]
					op = fmt.Sprintf("commit %d %q", id, key)
					ix.Commit(id, key)
					ref.commit(id, key)
				case n < 16:
					id, key := anyID(), genKeys[g.pick(len(genKeys))]
					op = fmt.Sprintf("release %d %q", id, key)
					ix.Release(id, key)
					ref.release(id, key)
				case n < 18:
					id := anyID()
					op = fmt.Sprintf("mark full %d", id)
					ix.MarkFull(id)
					ref.markFull(id)
				default:
					id := anyID()
					op = fmt.Sprintf("remove %d", id)
					ix.Remove(id)
					delete(ref.pools, id)
				}
				if g.pick(6) == 0 {
					// A pool's health changes (its tier, or only its score).
					id := anyID()
					degraded := g.pick(2) == 0
					score := float64(g.pick(101)) / 100
					ix.SetHealth(id, score, degraded)
					if rp := ref.pools[id]; rp != nil {
						rp.degraded = degraded
					}
					op += fmt.Sprintf("; health %d %v %v", id, score, degraded)
				}
				if ix.Len() != len(ref.pools) {
					t.Fatalf("step %d (%s): index has %d pools, reference %d", step, op, ix.Len(), len(ref.pools))
				}
				for range requests {
					req := g.request(nextID)
					if err := compare(ix, ref, req); err != nil {
						t.Fatalf("step %d after %s\nrequest %+v\n%v", step, op, req, err)
					}
				}
			}
		})
	}
}

// compare checks one request against the reference.
func compare(ix *placement.Index, ref *reference, req placement.Request) error {
	d := ix.Place(req)
	e := d.Explanation
	want := ref.place(req)
	var top []int64
	for _, c := range e.Top {
		top = append(top, c.ID)
	}
	switch {
	case e.Considered != want.considered || e.Eligible != want.eligible:
		return fmt.Errorf("considered/eligible %d/%d, want %d/%d", e.Considered, e.Eligible, want.considered, want.eligible)
	case e.Degraded != want.degraded:
		return fmt.Errorf("degraded %d, want %d", e.Degraded, want.degraded)
	case !maps.Equal(e.Filtered, want.filtered):
		return fmt.Errorf("filtered %v, want %v", e.Filtered, want.filtered)
	case !slices.Equal(top, want.top):
		return fmt.Errorf("top %v, want %v (%s)", top, want.top, e)
	}
	sum := e.Eligible
	for _, n := range e.Filtered {
		sum += n
	}
	if sum != e.Considered {
		return fmt.Errorf("filtered + eligible = %d, considered %d", sum, e.Considered)
	}
	if len(top) == 0 {
		if d.Pool != nil || e.WinnerID != 0 {
			return fmt.Errorf("no candidates but a winner %+v", d.Pool)
		}
		return nil
	}
	if p, _ := ix.Pool(top[0]); d.Pool == nil || d.Pool.ID != p.ID || d.Pool.Used != p.Used || e.WinnerID != p.ID || e.Winner != p.Name {
		return fmt.Errorf("decision pool %+v, winner %d %q, want %+v", d.Pool, e.WinnerID, e.Winner, p)
	}
	for i, c := range e.Top {
		rp := ref.pools[c.ID]
		holds := req.AffinityKey != "" && rp.keys[req.AffinityKey] > 0
		score := placement.ScorePackWeighted(holds, ref.free(rp), rp.p.Weight)
		if req.Strategy == placement.StrategySpread {
			score = placement.ScoreSpreadWeighted(rp.p.Used, rp.p.Capacity, rp.p.Weight)
		}
		if c.HoldsKey != holds || c.Score != score || c.Used != rp.p.Used || c.Capacity != rp.p.Capacity || c.Degraded != rp.degraded {
			return fmt.Errorf("top[%d] = %+v, want holds %v score %v", i, c, holds, score)
		}
		if i > 0 && c.Score > e.Top[i-1].Score && c.Degraded == e.Top[i-1].Degraded {
			return fmt.Errorf("top not in score order: %+v", e.Top)
		}
	}
	if req.Strategy != placement.StrategySpread {
		if best, _ := scanBest(slices.Collect(maps.Values(ref.pools)), req); best != top[0] {
			return fmt.Errorf("scanBest chose %d, want %d", best, top[0])
		}
	}
	return nil
}
