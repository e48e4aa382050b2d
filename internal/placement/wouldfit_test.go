package placement_test

import (
	"fmt"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// changes words a would-fit answer as "pool: change" lines.
func changes(ch []model.FitChange) []string {
	var out []string
	for _, c := range ch {
		out = append(out, fmt.Sprintf("%s: %s", c.Pool, c.Change))
	}
	return out
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestWouldFit_PlaceableNowIsNil(t *testing.T) {
	ix := placement.NewIndex(origin([3]int{5, 4, 5}, [3]model.PoolStatus{}), nil)
	if got := ix.WouldFit(placement.Request{Kind: model.KindServer}, 3); got != nil {
		t.Fatalf("a member with room now: %q", changes(got))
	}
}

func TestWouldFit_FullPoolGetsCapacityPlusOne(t *testing.T) {
	ix := placement.NewIndex(origin([3]int{5, 5, 5}, [3]model.PoolStatus{}), nil)
	got := ix.WouldFit(placement.Request{Kind: model.KindServer}, 3)
	sameLines(t, changes(got), []string{"worker-01: capacity 5 → 6", "los-angeles: capacity 5 → 6", "manila: capacity 5 → 6"})
	c := got[0]
	if c.Field != model.FitCapacity || c.From != "5" || c.To != "6" || c.PoolID != 1 {
		t.Fatalf("machine fields: %+v", c)
	}
	// The suggestion is right: make it, and the member is placed there.
	p, _ := ix.Pool(c.PoolID)
	p.Capacity = 6
	ix.Upsert(p)
	if d := ix.Place(placement.Request{Kind: model.KindServer}); d.Pool == nil || d.Pool.Name != "worker-01" {
		t.Fatalf("after the change: %v", d.Explanation)
	}
}

func TestWouldFit_CheapestFirstAndBounded(t *testing.T) {
	// worker-01 paused with room, los-angeles offline with room, manila full.
	pools := origin([3]int{1, 0, 5}, [3]model.PoolStatus{model.StatusOffline, model.StatusPaused, ""})
	pools = append(pools, server(4, "banned-1", 0, 0, model.StatusBanned), server(5, "paused-full", 0, 5, model.StatusPaused))
	ix := placement.NewIndex(pools, nil)
	req := placement.Request{Kind: model.KindServer}
	sameLines(t, changes(ix.WouldFit(req, 10)), []string{
		"manila: capacity 5 → 6",
		"los-angeles: status paused → active",
		"worker-01: status offline → active",
		"banned-1: status banned → active",
		": add a server pool",
	}) // paused-full needs two changes: not listed
	sameLines(t, changes(ix.WouldFit(req, 2)), []string{"manila: capacity 5 → 6", "los-angeles: status paused → active"})
	st := ix.WouldFit(req, 2)[1]
	if st.Field != model.FitStatus || st.From != "paused" || st.To != "active" || st.PoolID != 2 {
		t.Fatalf("machine fields: %+v", st)
	}
	// The index keeps up: manila gets room back, los-angeles fills up.
	ix.Release(3, "")
	if got := ix.WouldFit(req, 3); got != nil {
		t.Fatalf("room again: %q", changes(got))
	}
	ix.Commit(3, "")
	ix.Upsert(server(2, "los-angeles", 2, 5, model.StatusPaused))
	sameLines(t, changes(ix.WouldFit(req, 3)), []string{"manila: capacity 5 → 6", "worker-01: status offline → active", "banned-1: status banned → active"})
}

func TestWouldFit_LabelsAndAddPool(t *testing.T) {
	pools := origin([3]int{5, 5, 0}, [3]model.PoolStatus{"", "", model.StatusPaused})
	pools[1].Labels = map[string]string{"group": "vip", "open": "true"}
	pools[2].Labels = map[string]string{"group": "vip", "open": "true"}
	ix := placement.NewIndex(pools, nil)
	vip := placement.Request{Kind: model.KindServer, Labels: map[string]string{"group": "vip"}}
	sameLines(t, changes(ix.WouldFit(vip, 3)), []string{"los-angeles: capacity 5 → 6", "manila: status paused → active", ": add a server pool with labels {group=vip}"})
	// No pool carries the labels: only a new pool would do.
	eu := placement.Request{Kind: model.KindServer, Labels: map[string]string{"group": "vip", "region": "eu"}}
	got := ix.WouldFit(eu, 3)
	sameLines(t, changes(got), []string{": add a server pool with labels {group=vip, region=eu}"})
	if got[0].Field != model.FitAddPool || got[0].Kind != model.KindServer || got[0].Labels["region"] != "eu" {
		t.Fatalf("machine fields: %+v", got[0])
	}
	// A kind without pools.
	sameLines(t, changes(ix.WouldFit(placement.Request{Kind: model.KindTeam}, 3)), []string{": add a team pool"})
}

func TestWouldFit_Exclusions(t *testing.T) {
	ix := placement.NewIndex(origin([3]int{5, 2, 5}, [3]model.PoolStatus{}), nil)
	req := placement.Request{Kind: model.KindServer, Exclude: []int64{2, 3}}
	got := ix.WouldFit(req, 5)
	// manila is full and excluded (two changes): only worker-01's capacity,
	// lifting los-angeles's exclusion, or a new pool.
	sameLines(t, changes(got), []string{"worker-01: capacity 5 → 6", "los-angeles: lift the exclusion", ": add a server pool"})
	if got[1].Field != model.FitExclusion || got[1].PoolID != 2 {
		t.Fatalf("machine fields: %+v", got[1])
	}
}

func TestWouldFit_SeesChangesAndUndo(t *testing.T) {
	ix := placement.NewIndex(origin([3]int{5, 5, 5}, [3]model.PoolStatus{}), nil)
	req := placement.Request{Kind: model.KindServer}
	before := changes(ix.WouldFit(req, 3))
	mark := ix.Mark()
	ix.Upsert(server(1, "worker-01", 1, 0, model.StatusPaused))
	ix.Remove(2)
	ix.MarkFull(3) // a pool marked full is not one change away
	sameLines(t, changes(ix.WouldFit(req, 3)), []string{"worker-01: status paused → active", ": add a server pool"})
	ix.Undo(mark)
	ix.Forget()
	sameLines(t, changes(ix.WouldFit(req, 3)), before)
}

func TestSimulate_PlacesInOrderAndChangesNothing(t *testing.T) {
	pools := origin([3]int{5, 0, 5}, [3]model.PoolStatus{"", model.StatusPaused, ""})
	ix := placement.NewIndex(pools, nil)
	req := placement.Request{Kind: model.KindServer}
	reqs := []placement.Request{req, req, req, req, req, req, req, req, req, req, req, req, req, req, req, req}
	before := changes(ix.WouldFit(req, 5))
	six, active := 6, model.StatusActive
	res := ix.Simulate(model.KindServer,
		[]placement.SimAdd{{Count: 2, Capacity: 5}},
		[]placement.SimSet{{ID: 1, Capacity: &six}, {ID: 2, Status: &active}, {ID: 99, Capacity: &six}},
		reqs)
	// worker-01 +1, los-angeles 5, two new pools 5 each: 16 seats for 16.
	if res.Placed != 16 || res.StillQueued != 0 || res.ByPool["worker-01"] != 1 || res.ByPool["los-angeles"] != 5 ||
		res.ByPool["new-server-1"] != 5 || res.ByPool["new-server-2"] != 5 {
		t.Fatalf("simulate: %+v", res)
	}
	res = ix.Simulate(model.KindServer, nil, []placement.SimSet{{ID: 2, Status: &active}}, reqs)
	if res.Placed != 5 || res.StillQueued != 11 {
		t.Fatalf("simulate: %+v", res)
	}
	// Nothing changed, and nothing is being recorded.
	sameLines(t, changes(ix.WouldFit(req, 5)), before)
	if ix.Len() != 3 {
		t.Fatalf("pools: %d", ix.Len())
	}
	mark := ix.Mark()
	if mark != 0 {
		t.Fatalf("the journal kept %d records", mark)
	}
}
