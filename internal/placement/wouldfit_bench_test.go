package placement_test

import (
	"fmt"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// BenchmarkWouldFit measures what-would-fit answers (Index.WouldFit, k = 3)
// on a fleet where no pool has room (benchFleet with every active pool
// full; one in ten not active, half of those with room), beside the plain
// Place call on the same index (which finds nothing) and on the fleet as
// benchFleet makes it (Place that finds a pool), in the same run:
// docs/bench.md gives the ratios. Requests name group std (nine pools in
// ten), vip (one in ten) or gold (none: only a new pool would do).
func BenchmarkWouldFit(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		pools, affinity, keys := benchFleet(n)
		full := make([]placement.Pool, len(pools))
		for i, p := range pools {
			if p.Status == model.StatusActive || i%2 == 0 {
				p.Used = p.Capacity
			}
			full[i] = p
		}
		for _, group := range []string{"std", "vip", "gold"} {
			req := func(i int) placement.Request {
				return placement.Request{Kind: model.KindServer, AffinityKey: keys[i%len(keys)], Labels: map[string]string{"group": group}}
			}
			b.Run(fmt.Sprintf("n=%d/%s/would_fit", n, group), func(b *testing.B) {
				ix := placement.NewIndex(full, affinity)
				if got := ix.WouldFit(req(0), placement.WouldFitK); len(got) == 0 {
					b.Fatal("no change suggested")
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					ix.WouldFit(req(i), placement.WouldFitK)
					i++
				}
			})
			b.Run(fmt.Sprintf("n=%d/%s/place_full", n, group), func(b *testing.B) {
				ix := placement.NewIndex(full, affinity)
				ix.Place(req(0))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if d := ix.Place(req(i)); d.Pool != nil {
						b.Fatal("placed in a full fleet")
					}
					i++
				}
			})
			if group == "gold" {
				continue
			}
			b.Run(fmt.Sprintf("n=%d/%s/place_open", n, group), func(b *testing.B) {
				ix := placement.NewIndex(pools, affinity)
				ix.Place(req(0))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if d := ix.Place(req(i)); d.Pool == nil {
						b.Fatal("not placed")
					}
					i++
				}
			})
		}
	}
}
