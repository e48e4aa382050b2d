package placement_test

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// refWouldFit is WouldFit written as a scan of every pool, from the rules
// in docs/design.md ("What would fit").
func (r *reference) wouldFit(req placement.Request, k int) []string {
	if r.place(req).eligible > 0 {
		return nil
	}
	rank := map[model.PoolStatus]int{model.StatusPaused: 1, model.StatusDraining: 2, model.StatusOffline: 3,
		model.StatusCredentialInvalid: 4, model.StatusBanned: 5}
	type cand struct {
		class int
		rp    *refPool
		text  string
	}
	var cands, excluded []cand
	for _, rp := range r.pools {
		if rp.p.Kind != req.Kind || !hasLabels(rp.p.Labels, req.Labels) || rp.marked {
			continue
		}
		ex := slices.Contains(req.Exclude, rp.p.ID)
		p := rp.p
		switch {
		case p.Status == model.StatusActive && p.Used >= p.Capacity && !ex:
			to := strconv.Itoa(max(p.Used, p.Capacity) + 1)
			cands = append(cands, cand{0, rp, p.Name + ": capacity " + strconv.Itoa(p.Capacity) + " → " + to})
		case p.Status != model.StatusActive && p.Used < p.Capacity && !ex:
			c, ok := rank[p.Status]
			if !ok {
				c = 6
			}
			cands = append(cands, cand{c, rp, p.Name + ": status " + string(p.Status) + " → active"})
		case p.Status == model.StatusActive && p.Used < p.Capacity && ex:
			excluded = append(excluded, cand{7, rp, p.Name + ": lift the exclusion"})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.class, b.class), tier(a.rp, b.rp), cmp.Compare(a.rp.p.Priority, b.rp.p.Priority),
			strings.Compare(a.rp.p.Name, b.rp.p.Name), cmp.Compare(a.rp.p.ID, b.rp.p.ID))
	})
	// Excluded pools in the order the request names them.
	slices.SortStableFunc(excluded, func(a, b cand) int {
		return cmp.Compare(slices.Index(req.Exclude, a.rp.p.ID), slices.Index(req.Exclude, b.rp.p.ID))
	})
	var out []string
	for _, c := range append(cands, excluded...) {
		if len(out) == k {
			return out
		}
		out = append(out, c.text)
	}
	if len(out) < k {
		out = append(out, ": add")
	}
	return out
}

// TestWouldFit_MatchesReference applies random operations to an index and
// to the naive reference and checks, after every step, that WouldFit
// answers random requests as a scan of every pool would.
func TestWouldFit_MatchesReference(t *testing.T) {
	seen := map[string]int{}
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			g := gen{rand.New(rand.NewPCG(seed, 0x51ed27))}
			ref := newReference()
			var initial []placement.Pool
			for id := range int64(1 + g.pick(40)) {
				p := g.pool(id + 1)
				initial = append(initial, p)
				ref.upsert(p)
			}
			ix := placement.NewIndex(initial, nil)
			nextID := int64(len(initial)) + 1
			anyID := func() int64 {
				all := slices.Sorted(maps.Keys(ref.pools))
				if len(all) > 0 && g.pick(10) > 0 {
					return all[g.pick(len(all))]
				}
				return nextID + 7
			}
			for step := range 300 {
				var op string
				switch n := g.pick(20); {
				case n < 3:
					p := g.pool(nextID)
					nextID++
					op = fmt.Sprintf("add %+v", p)
					ix.Upsert(p)
					ref.upsert(p)
				case n < 7:
					id := anyID()
					p := g.pool(id)
					if old, ok := ref.pools[id]; ok {
						p = old.p
						p.Status = genStatuses[g.pick(len(genStatuses))]
						p.Capacity = g.pick(6)
					}
					op = fmt.Sprintf("upsert %+v", p)
					ix.Upsert(p)
					ref.upsert(p)
				case n < 12:
					id := anyID()
					op = fmt.Sprintf("commit %d", id)
					ix.Commit(id, "")
					ref.commit(id, "")
				case n < 16:
					id := anyID()
					op = fmt.Sprintf("release %d", id)
					ix.Release(id, "")
					ref.release(id, "")
				case n < 17:
					id := anyID()
					op = fmt.Sprintf("mark full %d", id)
					ix.MarkFull(id)
					ref.markFull(id)
				case n < 18:
					id := anyID()
					op = fmt.Sprintf("remove %d", id)
					ix.Remove(id)
					delete(ref.pools, id)
				default:
					id, degraded := anyID(), g.pick(2) == 0
					op = fmt.Sprintf("health %d %v", id, degraded)
					ix.SetHealth(id, 0.5, degraded)
					if rp := ref.pools[id]; rp != nil {
						rp.degraded = degraded
					}
				}
				for range 6 {
					req := g.request(nextID)
					req.Exclude = slices.Compact(req.Exclude) // the reference lists each once
					k := 1 + g.pick(5)
					var got []string
					for _, c := range ix.WouldFit(req, k) {
						seen[c.Field]++
						if c.Field == model.FitAddPool {
							got = append(got, ": add")
							continue
						}
						got = append(got, c.Pool+": "+c.Change)
					}
					for i, c := range ix.WouldFit(req, k) {
						if c.Field == model.FitExclusion {
							got[i] = c.Pool + ": lift the exclusion"
						}
					}
					if want := ref.wouldFit(req, k); !slices.Equal(got, want) {
						t.Fatalf("step %d after %s\nrequest %+v k=%d\ngot  %q\nwant %q", step, op, req, k, got, want)
					}
				}
			}
		})
	}
	// The walk met every kind of change, many times.
	for _, f := range model.FitFields() {
		if seen[f] < 50 {
			t.Errorf("only %d %s changes in the whole run: %v", seen[f], f, seen)
		}
	}
	t.Logf("changes checked: %v", seen)
}
