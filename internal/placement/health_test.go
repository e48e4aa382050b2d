package placement_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// A degraded pool ranks after every healthy one: a healthy pool with less
// room wins over it under pack and spread, and over a degraded pool that
// already holds the member's script; the degraded pool is still used when
// it is the only one with room.
func TestPlace_HealthDownRanks(t *testing.T) {
	pools := []placement.Pool{
		server(1, "roomy", 0, 0, model.StatusActive), // 5 free, will be degraded
		server(2, "tight", 0, 4, model.StatusActive), // 1 free
		server(3, "mid", 0, 2, model.StatusActive),   // 3 free
	}
	for _, strategy := range placement.Strategies() {
		t.Run(string(strategy), func(t *testing.T) {
			ix := placement.NewIndex(pools, map[int64]map[string]int{1: {"A": 2}})
			req := placement.Request{Kind: model.KindServer, AffinityKey: "A", Strategy: strategy}
			if d := ix.Place(req); d.Pool.Name != "roomy" {
				t.Fatalf("all healthy: %s, want roomy", d.Explanation)
			}
			if !ix.SetHealth(1, 0.42, true) {
				t.Fatal("SetHealth reported no change")
			}
			d := ix.Place(req)
			e := d.Explanation
			if d.Pool.Name != "mid" || e.Degraded != 1 || e.Eligible != 3 {
				t.Fatalf("roomy degraded: %s (degraded %d), want mid", e, e.Degraded)
			}
			if last := e.Top[len(e.Top)-1]; last.Name != "roomy" || !last.Degraded || last.Health != 0.42 {
				t.Fatalf("top %+v: want the degraded pool last", e.Top)
			}
			if !strings.Contains(e.Summary(), "1 down-ranked for health") {
				t.Fatalf("summary %q", e.Summary())
			}
			// Fill the healthy pools: the degraded one takes the rest.
			got := placeAll(ix, req, 4+5+1)
			for _, name := range got[:4] {
				if name != "mid" && name != "tight" {
					t.Fatalf("placements %q: the first 4 should fill mid and tight", got)
				}
			}
			if want := append(repeat("roomy", 5), ""); !slices.Equal(got[4:], want) {
				t.Fatalf("placements %q: then %q", got, want)
			}
		})
	}
}

// The explanation of a placement into a degraded pool says so.
func TestPlace_OnlyDegradedExplained(t *testing.T) {
	ix := placement.NewIndex([]placement.Pool{
		server(1, "sick", 0, 1, model.StatusActive),
		server(2, "full", 0, 5, model.StatusActive),
	}, nil)
	ix.SetHealth(1, 0.3, true)
	d := ix.Place(placement.Request{Kind: model.KindServer})
	e := d.Explanation
	if d.Pool == nil || d.Pool.Name != "sick" {
		t.Fatalf("only the degraded pool has room: %s", e)
	}
	if !strings.Contains(e.Rule, "health 0.30: no healthy pool can take it") {
		t.Fatalf("rule %q", e.Rule)
	}
	if s := e.String(); !strings.Contains(s, "health 0.30, no healthy pool can take it") || !strings.Contains(s, "1 full; 1 down-ranked for health") {
		t.Fatalf("String() = %q", s)
	}
	// Excluding it leaves nothing, and nothing down-ranked.
	e = ix.Place(placement.Request{Kind: model.KindServer, Exclude: []int64{1}}).Explanation
	if e.Placed() || e.Degraded != 0 {
		t.Fatalf("excluded: %s (degraded %d)", e, e.Degraded)
	}
}

// Health is kept across Upsert and Recount, survives in label partitions
// built later, and only the tier moves a pool in the orders.
func TestSetHealth_Bookkeeping(t *testing.T) {
	vip := func(p placement.Pool) placement.Pool { p.Labels = map[string]string{"group": "vip"}; return p }
	ix := placement.NewIndex([]placement.Pool{
		vip(server(1, "a", 0, 0, model.StatusActive)),
		vip(server(2, "b", 0, 3, model.StatusActive)),
	}, nil)
	if h, d := ix.Health(1); h != 1 || d {
		t.Fatalf("a new pool: health %v degraded %v", h, d)
	}
	if ix.SetHealth(99, 0.1, true) {
		t.Fatal("an unknown pool changed")
	}
	ix.SetHealth(1, 0.5, true)
	if ix.SetHealth(1, 0.5, true) {
		t.Fatal("the same health twice reported a change")
	}
	ix.Upsert(vip(server(1, "a", 0, 1, model.StatusActive)))
	ix.Recount(1, 0, 5, model.StatusActive)
	if h, d := ix.Health(1); h != 0.5 || !d {
		t.Fatalf("after Upsert and Recount: health %v degraded %v", h, d)
	}
	req := placement.Request{Kind: model.KindServer, Labels: map[string]string{"group": "vip"}}
	if d := ix.Place(req); d.Pool.Name != "b" || d.Explanation.Degraded != 1 {
		t.Fatalf("vip partition built after SetHealth: %s", d.Explanation)
	}
	// A score change within the tier; then healthy again.
	ix.SetHealth(1, 0.6, true)
	if h, _ := ix.Health(1); h != 0.6 {
		t.Fatalf("score %v", h)
	}
	ix.SetHealth(1, 0.9, false)
	if d := ix.Place(req); d.Pool.Name != "a" || d.Explanation.Degraded != 0 {
		t.Fatalf("healthy again: %s", d.Explanation)
	}
	ix.Remove(1)
	if h, _ := ix.Health(1); h != 0 {
		t.Fatalf("a removed pool has health %v", h)
	}
}
