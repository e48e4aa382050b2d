package placement_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/berthhq/berth/internal/placement"
)

// view is everything a caller can observe of an index: each pool as the
// index holds it, its room and affinity counts, and the decisions of a
// fixed set of requests (with their explanations).
func view(ix *placement.Index, maxID int64, reqs []placement.Request) []string {
	var out []string
	for id := int64(0); id <= maxID+1; id++ {
		p, ok := ix.Pool(id)
		h, degraded := ix.Health(id)
		out = append(out, fmt.Sprintf("%d %v %+v room=%d health=%v/%v", id, ok, p, ix.Room(id), h, degraded))
		for _, k := range genKeys[1:] {
			out = append(out, fmt.Sprintf("%d %s=%d", id, k, ix.AffinityCount(id, k)))
		}
	}
	for _, r := range reqs {
		d := ix.Place(r)
		id := int64(-1)
		if d.Pool != nil {
			id = d.Pool.ID
		}
		out = append(out, fmt.Sprintf("%d %s", id, d.Explanation.String()))
	}
	return out
}

// Any sequence of changes after Mark, undone, leaves the index observably
// as it was at Mark; nested marks undo only their own part; and the undone
// index equals one built afresh from the same pools.
func TestJournal_UndoRestores(t *testing.T) {
	for seed := range uint64(40) {
		g := gen{rand.New(rand.NewPCG(seed, 7))}
		const maxID = 12
		var pools []placement.Pool
		aff := map[int64]map[string]int{}
		for id := int64(1); id <= maxID; id++ {
			p := g.pool(id)
			pools = append(pools, p)
			aff[id] = map[string]int{genKeys[1+g.pick(4)]: g.pick(3)}
		}
		ix := placement.NewIndex(pools, aff)
		var reqs []placement.Request
		for range 30 {
			reqs = append(reqs, g.request(maxID))
		}
		before := view(ix, maxID, reqs)
		mutate := func() {
			for range 1 + g.pick(25) {
				id := int64(g.pick(maxID + 2))
				switch g.pick(8) {
				case 0:
					ix.Upsert(g.pool(id))
				case 1:
					ix.Recount(id, g.pick(5), g.pick(6), genStatuses[g.pick(len(genStatuses))])
				case 2:
					ix.MarkFull(id)
				case 3:
					ix.Release(id, genKeys[g.pick(len(genKeys))])
				case 4:
					ix.Remove(id)
				case 5:
					ix.SetHealth(id, float64(g.pick(101))/100, g.pick(2) == 0)
				default:
					d := ix.Place(g.request(maxID))
					if d.Pool != nil {
						ix.Commit(d.Pool.ID, genKeys[g.pick(len(genKeys))])
					}
				}
			}
		}
		outer := ix.Mark()
		mutate()
		middle := view(ix, maxID, reqs)
		inner := ix.Mark()
		mutate()
		ix.Undo(inner)
		if got := view(ix, maxID, reqs); !reflect.DeepEqual(got, middle) {
			t.Fatalf("seed %d: undo to the inner mark changed the outer part:\n%v\nwant\n%v", seed, got, middle)
		}
		ix.Undo(outer)
		if got := view(ix, maxID, reqs); !reflect.DeepEqual(got, before) {
			t.Fatalf("seed %d: undo did not restore the index:\n%v\nwant\n%v", seed, got, before)
		}
		if got, want := view(ix, maxID, reqs), view(placement.NewIndex(pools, aff), maxID, reqs); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: undone index differs from a fresh one:\n%v\nwant\n%v", seed, got, want)
		}
		// Forget keeps what was done and stops recording.
		ix.Mark()
		mutate()
		kept := view(ix, maxID, reqs)
		ix.Forget()
		ix.Undo(0)
		if got := view(ix, maxID, reqs); !reflect.DeepEqual(got, kept) {
			t.Fatalf("seed %d: Undo after Forget changed the index", seed)
		}
	}
}
