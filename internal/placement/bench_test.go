package placement_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

var benchSizes = []int{100, 1_000, 10_000, 100_000}

// benchFleet builds n server pools of capacity 100 with random load, one in
// ten not active, one in ten labelled group=vip (closed to requests without
// a group), the others group=std and open=true (group isolation lets
// requests without a group in), and each pool holding up to three of n/10
// scripts; it returns the pools, the affinity and the keys.
func benchFleet(n int) ([]placement.Pool, map[int64]map[string]int, []string) {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	keys := make([]string, max(n/10, 10))
	for i := range keys {
		keys[i] = fmt.Sprintf("script-%d", i)
	}
	statuses := model.PoolStatuses()
	pools := make([]placement.Pool, n)
	affinity := map[int64]map[string]int{}
	for i := range pools {
		p := placement.Pool{
			ID:       int64(i + 1),
			Name:     fmt.Sprintf("server-%06d", i),
			Kind:     model.KindServer,
			Capacity: 100,
			Used:     r.IntN(101),
			Status:   model.StatusActive,
			Priority: r.IntN(3),
			Labels:   map[string]string{"group": "std", "open": "true"},
		}
		if r.IntN(10) == 0 {
			p.Status = statuses[1+r.IntN(len(statuses)-1)]
		}
		if r.IntN(10) == 0 {
			p.Labels = map[string]string{"group": "vip"}
		}
		held := map[string]int{}
		for range r.IntN(4) {
			held[keys[r.IntN(len(keys))]] = 1 + r.IntN(10)
		}
		affinity[p.ID] = held
		pools[i] = p
	}
	return pools, affinity, keys
}

// BenchmarkPlace measures one decision: Place, then Commit and Release on
// the winner so the index stays the same size and shape across iterations.
// decide-only leaves out Commit and Release. The -degraded cases mark one
// pool in five degraded (Index.SetHealth), so some decisions pass over a
// degraded holder of the key to a healthy pool.
func BenchmarkPlace(b *testing.B) {
	cases := []struct {
		name     string
		req      func(key string) placement.Request
		degraded bool
	}{
		{"pack", func(key string) placement.Request {
			return placement.Request{Kind: model.KindServer, AffinityKey: key}
		}, false},
		{"pack-group", func(key string) placement.Request {
			return placement.Request{Kind: model.KindServer, AffinityKey: key, Labels: map[string]string{"group": "vip"}}
		}, false},
		{"decide-only", func(key string) placement.Request {
			return placement.Request{Kind: model.KindServer, AffinityKey: key}
		}, false},
		{"spread", func(key string) placement.Request {
			return placement.Request{Kind: model.KindServer, Strategy: placement.StrategySpread}
		}, false},
		{"pack-degraded", func(key string) placement.Request {
			return placement.Request{Kind: model.KindServer, AffinityKey: key}
		}, true},
		{"spread-degraded", func(key string) placement.Request {
			return placement.Request{Kind: model.KindServer, Strategy: placement.StrategySpread}
		}, true},
	}
	for _, c := range cases {
		for _, n := range benchSizes {
			pools, affinity, keys := benchFleet(n)
			reqs := make([]placement.Request, len(keys))
			for i, k := range keys {
				reqs[i] = c.req(k)
			}
			b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
				ix := placement.NewIndex(pools, affinity)
				if c.degraded {
					for _, p := range pools {
						if p.ID%5 == 0 {
							ix.SetHealth(p.ID, 0.5, true)
						}
					}
				}
				ix.Place(reqs[0]) // build lazy structures outside the timer
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					req := reqs[i%len(reqs)]
					i++
					d := ix.Place(req)
					if d.Pool == nil {
						b.Fatal("not placed")
					}
					if c.name == "decide-only" {
						continue
					}
					ix.Commit(d.Pool.ID, req.AffinityKey)
					ix.Release(d.Pool.ID, req.AffinityKey)
				}
			})
		}
	}
}

// BenchmarkNaiveScan is the baseline: the same pack decision as one pass
// over a slice of every pool.
func BenchmarkNaiveScan(b *testing.B) {
	for _, n := range benchSizes {
		pools, affinity, keys := benchFleet(n)
		b.Run(fmt.Sprintf("pack/n=%d", n), func(b *testing.B) {
			ref := newReference()
			list := make([]*refPool, 0, n)
			for _, p := range pools {
				ref.upsert(p)
				rp := ref.pools[p.ID]
				for k, c := range affinity[p.ID] {
					rp.keys[k] = c
				}
				list = append(list, rp)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := placement.Request{Kind: model.KindServer, AffinityKey: keys[i%len(keys)]}
				i++
				id, _ := scanBest(list, req)
				if id == 0 {
					b.Fatal("not placed")
				}
				ref.commit(id, req.AffinityKey)
				ref.release(id, req.AffinityKey)
			}
		})
	}
}

// BenchmarkNewIndex measures building an index from a snapshot.
func BenchmarkNewIndex(b *testing.B) {
	for _, n := range benchSizes {
		pools, affinity, _ := benchFleet(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				placement.NewIndex(pools, affinity)
			}
		})
	}
}
