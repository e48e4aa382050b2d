package placement_test

import (
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// Group isolation (docs/design.md, "Placement rules"): a pool with a group
// takes only requests naming that group, unless it carries open=true.
func TestPlace_GroupIsolation(t *testing.T) {
	team := func(id int64, name string, used int, labels map[string]string) placement.Pool {
		return placement.Pool{ID: id, Name: name, Kind: model.KindTeam, Capacity: 5, Used: used,
			Status: model.StatusActive, Labels: labels}
	}
	ix := placement.NewIndex([]placement.Pool{
		team(1, "vip", 0, map[string]string{"group": "vip"}),
		team(2, "std", 4, map[string]string{"region": "eu"}),
	}, nil)
	ungrouped := placement.Request{Kind: model.KindTeam}
	for i := range 2 {
		d := ix.Place(ungrouped)
		if i == 0 && (d.Pool == nil || d.Pool.Name != "std") {
			t.Fatalf("ungrouped placed in %+v, want std (%s)", d.Pool, d.Explanation)
		}
		if i == 1 {
			if d.Pool != nil {
				t.Fatalf("ungrouped placed in %s, want queued: the vip team is closed to it", d.Pool.Name)
			}
			if got, want := d.Explanation.Summary(), "2 pools: 1 full, 1 group mismatch"; got != want {
				t.Errorf("summary %q, want %q", got, want)
			}
			break
		}
		ix.Commit(d.Pool.ID, "")
	}
	// Other constraints without a group are isolated too.
	if d := ix.Place(placement.Request{Kind: model.KindTeam, Labels: map[string]string{"region": "eu"}}); d.Pool != nil {
		t.Errorf("region=eu placed in %s", d.Pool.Name)
	}
	if d := ix.Place(placement.Request{Kind: model.KindTeam, Labels: map[string]string{"group": "vip"}}); d.Pool == nil || d.Pool.Name != "vip" {
		t.Errorf("vip placed in %+v, want vip", d.Pool)
	}
	// The pool opts in: it takes ungrouped members, and still vip ones.
	ix.Upsert(team(1, "vip", 0, map[string]string{"group": "vip", "open": "true"}))
	if d := ix.Place(ungrouped); d.Pool == nil || d.Pool.Name != "vip" {
		t.Errorf("ungrouped placed in %+v, want the open vip team", d.Pool)
	}
	if d := ix.Place(placement.Request{Kind: model.KindTeam, Labels: map[string]string{"group": "vip"}}); d.Pool == nil || d.Pool.Name != "vip" {
		t.Errorf("vip placed in %+v, want vip", d.Pool)
	}
	// And closes again.
	ix.Upsert(team(1, "vip", 0, map[string]string{"group": "vip"}))
	if d := ix.Place(ungrouped); d.Pool != nil {
		t.Errorf("ungrouped placed in %s after the pool closed", d.Pool.Name)
	}
	if !placement.Accepts(map[string]string{"group": "vip", "open": "true"}, nil) ||
		placement.Accepts(map[string]string{"group": "vip"}, map[string]string{"region": "eu"}) ||
		!placement.Accepts(map[string]string{"group": "vip"}, map[string]string{"group": "vip"}) ||
		!placement.Accepts(nil, nil) {
		t.Error("Accepts disagrees with the rule")
	}
}

// Weights: spread fills a pool of weight 2 to twice its peers' load; pack
// starts a new key where free room × weight is largest.
func TestPlace_Weight(t *testing.T) {
	srv := func(id int64, name string, w int) placement.Pool {
		return placement.Pool{ID: id, Name: name, Kind: model.KindServer, Capacity: 30, Status: model.StatusActive, Weight: w}
	}
	ix := placement.NewIndex([]placement.Pool{srv(1, "heavy", 2), srv(2, "light", 1)}, nil)
	got := map[string]int{}
	for range 30 {
		d := ix.Place(placement.Request{Kind: model.KindServer, Strategy: placement.StrategySpread})
		if d.Pool == nil {
			t.Fatal("not placed")
		}
		if want := placement.ScoreSpreadWeighted(d.Pool.Used, d.Pool.Capacity, d.Pool.Weight); d.Explanation.Score != want {
			t.Errorf("score %v, want %v", d.Explanation.Score, want)
		}
		got[d.Pool.Name]++
		ix.Commit(d.Pool.ID, "")
	}
	if got["heavy"] != 20 || got["light"] != 10 {
		t.Errorf("spread with weights 2:1 placed %v, want heavy 20, light 10", got)
	}

	// Pack: heavy has 10 free × 2 = 20, light 15 free × 1 = 15: a new key
	// starts on heavy; then the key stays on heavy (affinity) until full.
	ix = placement.NewIndex([]placement.Pool{
		{ID: 1, Name: "heavy", Kind: model.KindServer, Capacity: 10, Status: model.StatusActive, Weight: 2},
		{ID: 2, Name: "light", Kind: model.KindServer, Capacity: 15, Status: model.StatusActive},
	}, nil)
	d := ix.Place(placement.Request{Kind: model.KindServer, AffinityKey: "A"})
	if d.Pool == nil || d.Pool.Name != "heavy" {
		t.Fatalf("pack placed in %+v, want heavy (%s)", d.Pool, d.Explanation)
	}
	if want := placement.ScorePackWeighted(false, 10, 2); d.Explanation.Score != want || want <= placement.ScorePack(false, 15) {
		t.Errorf("score %v, want %v above light's %v", d.Explanation.Score, want, placement.ScorePack(false, 15))
	}
	if placement.ScorePackWeighted(false, 4, 1) != placement.ScorePack(false, 4) || placement.ScoreSpreadWeighted(2, 5, 0) != placement.ScoreSpread(2, 5) {
		t.Error("weight 1 (or 0) must score as the unweighted functions")
	}
}
