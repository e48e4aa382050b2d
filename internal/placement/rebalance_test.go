package placement

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/berthhq/berth/internal/model"
)

// fleet builds active pools of capacity 10 named p1, p2, … with the given
// used counts, and one member per seat (seat ids 100×pool + n), none pinned.
func fleet(used ...int) ([]Pool, []RebalanceMember) {
	var pools []Pool
	var ms []RebalanceMember
	for i, u := range used {
		id := int64(i + 1)
		pools = append(pools, Pool{ID: id, Name: fmt.Sprintf("p%d", id), Kind: model.KindServer, Capacity: 10, Used: u, Status: model.StatusActive})
		for n := 0; n < u; n++ {
			ms = append(ms, RebalanceMember{Seat: id*100 + int64(n), Name: fmt.Sprintf("m%d-%d", id, n), Pool: id})
		}
	}
	return pools, ms
}

// after applies the plan's moves to the pools' used counts.
func after(pools []Pool, plan RebalancePlan) map[string]int {
	out := map[string]int{}
	for _, p := range pools {
		out[p.Name] = p.Used
	}
	for _, mv := range plan.Moves {
		out[mv.FromName]--
		out[mv.ToName]++
	}
	return out
}

func TestRebalanceSpread(t *testing.T) {
	pools, ms := fleet(9, 1, 5)
	plan := Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 100, Pools: pools, Members: ms})
	// 9,1,5 → 8,2,5 → 7,3,5 → 6,4,5 → 5,5,5: four moves p1 → p2.
	if len(plan.Moves) != 4 {
		t.Fatalf("moves %+v", plan.Moves)
	}
	for _, mv := range plan.Moves {
		if mv.FromName != "p1" || mv.ToName != "p2" {
			t.Fatalf("move %+v; want p1 → p2", mv)
		}
	}
	if plan.Moves[0].Reason != "spread: p1 9/10 → p2 1/10" {
		t.Errorf("reason %q", plan.Moves[0].Reason)
	}
	// The newest seat of p1 moves first.
	if plan.Moves[0].Seat != 108 || plan.Moves[3].Seat != 105 {
		t.Errorf("seats %d, %d", plan.Moves[0].Seat, plan.Moves[3].Seat)
	}
	if got := after(pools, plan); !reflect.DeepEqual(got, map[string]int{"p1": 5, "p2": 5, "p3": 5}) {
		t.Errorf("after %v", got)
	}
	b, a := plan.Before, plan.After
	if b.UtilizationRange != 0.8 || a.UtilizationRange != 0 || a.UtilizationStddev != 0 || b.UtilizationStddev != 0.3266 {
		t.Errorf("before %+v after %+v", b, a)
	}
	if b.UtilizationMean != 0.5 || a.UtilizationMean != 0.5 || b.Members != 15 || a.Members != 15 {
		t.Errorf("mean/members before %+v after %+v", b, a)
	}

	// A budget of two: 7,3,5.
	plan = Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 2, Pools: pools, Members: ms})
	if got := after(pools, plan); len(plan.Moves) != 2 || got["p1"] != 7 || got["p2"] != 3 || plan.After.UtilizationRange != 0.4 {
		t.Fatalf("budget 2: %v %+v", got, plan.After)
	}
	// No budget: metrics only.
	plan = Rebalance(RebalanceInput{Strategy: StrategySpread, Pools: pools, Members: ms})
	if len(plan.Moves) != 0 || plan.Before != plan.After {
		t.Fatalf("budget 0: %+v", plan)
	}
	// One seat apart is balanced, decided exactly: 0.6 − 0.5 in floating
	// point is above 0.1, and a float test would move a member back and
	// forth until the budget ran out.
	for _, used := range [][]int{{6, 5}, {3, 2}, {7, 6, 7}} {
		pools, ms = fleet(used...)
		if plan = Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 10, Pools: pools, Members: ms}); len(plan.Moves) != 0 {
			t.Fatalf("%v moved %+v", used, plan.Moves)
		}
	}
	pools, ms = fleet(6, 4)
	if plan = Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 10, Pools: pools, Members: ms}); len(plan.Moves) != 1 {
		t.Fatalf("6,4: %+v", plan.Moves)
	}
	// Balanced within a seat: nothing to do.
	pools, ms = fleet(5, 4, 5, 4)
	if plan = Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 10, Pools: pools, Members: ms}); len(plan.Moves) != 0 {
		t.Fatalf("balanced fleet moved %+v", plan.Moves)
	}
}

func TestRebalanceSpreadPinnedAndLabels(t *testing.T) {
	pools, ms := fleet(9, 1, 5)
	// Every member of p1 but one moved recently.
	for i := range ms {
		if ms[i].Pool == 1 && ms[i].Seat != 100 {
			ms[i].Pinned = true
		}
	}
	plan := Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 100, Pools: pools, Members: ms})
	// p1 gives its one movable member (seat 100) to p2: 8,2,5; then p3
	// gives one: 8,3,4; then p1 has nobody left to move and p3 (4) vs p2
	// (3) is within a seat.
	if len(plan.Moves) != 2 || plan.Moves[0].Seat != 100 || plan.Moves[1].FromName != "p3" || plan.Moves[1].ToName != "p2" || plan.Pinned != 8 {
		t.Fatalf("moves %+v pinned %d", plan.Moves, plan.Pinned)
	}

	// Label constraints: p1's members want region=eu, which only p1 and
	// p3 carry; p2 is closed to them.
	pools, ms = fleet(9, 1, 1)
	pools[0].Labels = map[string]string{"region": "eu"}
	pools[2].Labels = map[string]string{"region": "eu"}
	for i := range ms {
		if ms[i].Pool == 1 {
			ms[i].Labels = map[string]string{"region": "eu"}
		}
	}
	plan = Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 100, Pools: pools, Members: ms})
	for _, mv := range plan.Moves {
		if mv.FromName == "p1" && mv.ToName != "p3" {
			t.Fatalf("an eu member went to %s: %+v", mv.ToName, plan.Moves)
		}
	}
	// p3's own member has no constraint and goes to p2; the eu members
	// go to p3; a member moved once does not move again in the plan.
	got := after(pools, plan)
	if !reflect.DeepEqual(got, map[string]int{"p1": 5, "p2": 2, "p3": 4}) || plan.After.UtilizationStddev >= plan.Before.UtilizationStddev {
		t.Fatalf("after %v %+v", got, plan.After)
	}

	// Group isolation: a pool of group vip takes no member without the
	// group.
	pools, ms = fleet(9, 1)
	pools[1].Labels = map[string]string{GroupLabel: "vip"}
	if plan = Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 10, Pools: pools, Members: ms}); len(plan.Moves) != 0 {
		t.Fatalf("moved into a closed group pool: %+v", plan.Moves)
	}

	// Only active pools take part.
	pools, ms = fleet(9, 1, 0)
	pools[2].Status = model.StatusPaused
	plan = Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 10, Pools: pools, Members: ms})
	if plan.Before.Pools != 2 || after(pools, plan)["p3"] != 0 || len(plan.Moves) != 4 {
		t.Fatalf("paused pool: %+v", plan)
	}
}

func TestRebalanceSpreadWeightsAndCapacities(t *testing.T) {
	// p1 capacity 20 with 10 seats (50%), p2 capacity 10 with 0: moving
	// from p1 to p2 until 2(a−b) ≤ 1/20 + 1/10: 7/20 and 3/10.
	pools, ms := fleet(10, 0)
	pools[0].Capacity = 20
	plan := Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 100, Pools: pools, Members: ms})
	if got := after(pools, plan); got["p1"] != 7 || got["p2"] != 3 {
		t.Fatalf("after %v", got)
	}
	// Weight 2 on p2: it counts as two pools of its size, so its load
	// is used/20 and it takes more.
	pools, ms = fleet(10, 0)
	pools[0].Capacity = 20
	pools[1].Weight = 2
	pools[1].Capacity = 10
	plan = Rebalance(RebalanceInput{Strategy: StrategySpread, MaxMoves: 100, Pools: pools, Members: ms})
	if got := after(pools, plan); got["p1"] != 5 || got["p2"] != 5 {
		t.Fatalf("weighted after %v", got)
	}
}

func TestRebalancePack(t *testing.T) {
	pools, ms := fleet(8, 2, 3, 0)
	plan := Rebalance(RebalanceInput{Strategy: StrategyPack, MaxMoves: 100, Pools: pools, Members: ms})
	// p2 (2) empties into p1 (best fit: 2 free) → p1 full; p3 (3) has no
	// pool in use with room (p4 is empty and stays so): kept.
	if len(plan.Moves) != 2 || plan.Moves[0].ToName != "p1" || plan.Moves[1].ToName != "p1" {
		t.Fatalf("moves %+v", plan.Moves)
	}
	if plan.Moves[0].Reason != "pack: empties p2 (2/10) into p1 (8/10)" {
		t.Errorf("reason %q", plan.Moves[0].Reason)
	}
	if b, a := plan.Before, plan.After; b.InUse != 3 || b.Partial != 3 || a.InUse != 2 || a.Partial != 1 || a.Empty != 2 {
		t.Fatalf("before %+v after %+v", b, a)
	}

	// Three half-filled pools pack into two.
	pools, ms = fleet(5, 5, 4)
	plan = Rebalance(RebalanceInput{Strategy: StrategyPack, MaxMoves: 100, Pools: pools, Members: ms})
	got := after(pools, plan)
	if len(plan.Moves) != 4 || got["p3"] != 0 || got["p1"]+got["p2"] != 14 || plan.After.InUse != 2 {
		t.Fatalf("after %v moves %+v", got, plan.Moves)
	}
	// A budget smaller than the least filled pool: nothing (half
	// emptying saves no pool).
	if plan = Rebalance(RebalanceInput{Strategy: StrategyPack, MaxMoves: 3, Pools: pools, Members: ms}); len(plan.Moves) != 0 {
		t.Fatalf("budget 3 moved %+v", plan.Moves)
	}
	// A pinned member keeps its pool: the next one is emptied instead.
	for i := range ms {
		if ms[i].Seat == 300 {
			ms[i].Pinned = true
		}
	}
	plan = Rebalance(RebalanceInput{Strategy: StrategyPack, MaxMoves: 100, Pools: pools, Members: ms})
	got = after(pools, plan)
	if got["p3"] != 4 || plan.After.InUse != 2 || len(plan.Moves) != 5 {
		t.Fatalf("pinned: after %v moves %+v", got, plan.Moves)
	}
	// Seats the pool counts but the rebalancer was not given (being
	// provisioned): the pool is not emptied.
	pools, ms = fleet(8, 2)
	pools[1].Used = 3
	if plan = Rebalance(RebalanceInput{Strategy: StrategyPack, MaxMoves: 100, Pools: pools, Members: ms}); len(plan.Moves) != 0 {
		t.Fatalf("unlisted seat: %+v", plan.Moves)
	}
}

func TestRebalancePackAffinity(t *testing.T) {
	// p1 8 seats without key; p3 6 seats of which 2 hold key k; p2 2 seats
	// of key k. Best fit would be p1, but p3 holds k: both go there.
	pools, ms := fleet(8, 2, 6)
	for i := range ms {
		if ms[i].Pool == 2 || ms[i].Seat == 300 || ms[i].Seat == 301 {
			ms[i].AffinityKey = "k"
		}
	}
	plan := Rebalance(RebalanceInput{Strategy: StrategyPack, MaxMoves: 100, Pools: pools, Members: ms})
	if len(plan.Moves) < 2 || plan.Moves[0].ToName != "p3" || plan.Moves[1].ToName != "p3" {
		t.Fatalf("moves %+v", plan.Moves)
	}
	if want := "pack: empties p2 (2/10) into p3 (6/10), which holds k"; plan.Moves[0].Reason != want {
		t.Errorf("reason %q", plan.Moves[0].Reason)
	}
	// A key's members stay together where one pool has room for them
	// all: p2's three k members go to p1 (3 free) rather than one to p3
	// (1 free) first.
	pools, ms = fleet(7, 3, 9)
	for i := range ms {
		if ms[i].Pool == 2 {
			ms[i].AffinityKey = "k"
		}
	}
	plan = Rebalance(RebalanceInput{Strategy: StrategyPack, MaxMoves: 100, Pools: pools, Members: ms})
	if len(plan.Moves) != 3 {
		t.Fatalf("moves %+v", plan.Moves)
	}
	for _, mv := range plan.Moves {
		if mv.ToName != "p1" {
			t.Fatalf("key split: %+v", plan.Moves)
		}
	}
}

// The same input gives the same plan, whatever the order of the input.
func TestRebalanceDeterministic(t *testing.T) {
	for _, st := range Strategies() {
		pools, ms := fleet(9, 1, 5, 7, 2, 0, 3)
		a := Rebalance(RebalanceInput{Strategy: st, MaxMoves: 20, Pools: pools, Members: ms})
		for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
			ms[i], ms[j] = ms[j], ms[i]
		}
		b := Rebalance(RebalanceInput{Strategy: st, MaxMoves: 20, Pools: pools, Members: ms})
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %+v\n%+v", st, a, b)
		}
		if len(a.Moves) == 0 {
			t.Fatalf("%s planned nothing", st)
		}
		if st == StrategySpread && a.After.UtilizationStddev >= a.Before.UtilizationStddev {
			t.Fatalf("spread: %+v → %+v", a.Before, a.After)
		}
		if st == StrategyPack && a.After.InUse >= a.Before.InUse {
			t.Fatalf("pack: %+v → %+v", a.Before, a.After)
		}
	}
}

// benchFleet is 1,000 pools of capacity 150 holding 100,000 members,
// skewed (pool i holds 50 + i mod 101 seats... scaled to 100,000), in 20
// affinity keys, one pool in ten of group vip with its members.
func benchFleet() ([]Pool, []RebalanceMember) {
	const nPools, nMembers = 1000, 100_000
	pools := make([]Pool, nPools)
	for i := range pools {
		pools[i] = Pool{ID: int64(i + 1), Name: fmt.Sprintf("pool-%04d", i+1), Kind: model.KindServer, Capacity: 150, Status: model.StatusActive}
		if i%10 == 0 {
			pools[i].Labels = map[string]string{GroupLabel: "vip"}
		}
	}
	ms := make([]RebalanceMember, 0, nMembers)
	seat := int64(0)
	for i := range pools {
		n := 40 + (i*37)%121 // 40..160, capped at capacity
		n = min(n, pools[i].Capacity)
		for j := 0; j < n && len(ms) < nMembers; j++ {
			seat++
			m := RebalanceMember{Seat: seat, Name: fmt.Sprintf("m%d", seat), Pool: pools[i].ID, AffinityKey: fmt.Sprintf("k%d", seat%20)}
			if pools[i].Labels != nil {
				m.Labels = map[string]string{GroupLabel: "vip"}
			}
			m.Pinned = seat%97 == 0
			ms = append(ms, m)
		}
		pools[i].Used = min(n, pools[i].Capacity)
	}
	return pools, ms
}

func BenchmarkRebalance(b *testing.B) {
	pools, ms := benchFleet()
	for _, st := range Strategies() {
		for _, budget := range []int{0, 1000, 10_000} {
			b.Run(fmt.Sprintf("%s/moves=%d", st, budget), func(b *testing.B) {
				var plan RebalancePlan
				for b.Loop() {
					plan = Rebalance(RebalanceInput{Strategy: st, MaxMoves: budget, Pools: pools, Members: ms})
				}
				b.ReportMetric(float64(len(plan.Moves)), "moves")
				b.ReportMetric(plan.After.UtilizationStddev, "stddev-after")
				b.ReportMetric(float64(plan.After.InUse), "in-use-after")
			})
		}
	}
}
