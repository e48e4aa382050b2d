package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc/plans"
	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

type rebalancePlan struct {
	ID      int64
	State   string
	Summary struct {
		Strategy      string
		Moves, Pinned int
		Before, After struct {
			InUse             int     `json:"in_use"`
			Partial           int     `json:"partial"`
			UtilizationStddev float64 `json:"utilization_stddev"`
			UtilizationRange  float64 `json:"utilization_range"`
		}
	}
	Steps []struct {
		Op, Pool, Member, To string
		SeatID               int64 `json:"seat_id"`
	}
	Result *struct {
		Done, Queued, Failed, Scheduled, Cancelled int
		Steps                                      []struct{ Status, Pool, Detail string }
	}
}

// usedOf reads every team pool's used count by name.
func usedOf(t *testing.T, h *apptest.Harness) map[string]int {
	t.Helper()
	var list struct {
		Items []struct {
			Name string
			Used int
		}
	}
	h.Do("GET", "/api/v1/pools?kind=team", nil).MustStatus(t, 200).JSON(t, &list)
	out := map[string]int{}
	for _, p := range list.Items {
		out[p.Name] = p.Used
	}
	return out
}

func rebindsCharged(t *testing.T, h *apptest.Harness) int {
	t.Helper()
	var n int
	if err := h.App.Store.DB.QueryRow(`SELECT COALESCE(SUM(rebind_count), 0) FROM codes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The rebalancer with a budget (issue 14 §3) through the plan route: a
// skewed fleet, a spread plan within max_moves that skips the member who
// moved recently, applied and run a few moves at a time by the paced
// runner; the utilization spread is lower after, nobody is charged a
// rebind, the moves rows say rebalance.
func TestRebalanceSpreadPlan(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		// The paced job does not run by itself here: the test runs it.
		h := apptest.Start(t, d, func(c *app.Config) { c.Jobs.RebalanceEvery = time.Hour })
		teams(h, 1, 10)
		codes := genCodes(t, h, 7, nil)
		for i, c := range codes {
			redeem(t, h, fmt.Sprintf("u%d@example.com", i), c)
		}
		for i, c := range codes {
			waitActive(t, h, fmt.Sprintf("u%d@example.com", i), c, "team-1")
		}
		// u0 moves (operator) to team-x: it moved recently.
		h.Do("POST", "/api/v1/pools", map[string]any{"name": "team-x", "kind": "team", "capacity": 10, "provider": map[string]any{"type": "sim"}}).MustStatus(t, 201)
		var seats struct {
			Items []struct {
				ID     int64
				Member string
			}
		}
		h.Do("GET", "/api/v1/seats?email=u0@example.com&state=active", nil).MustStatus(t, 200).JSON(t, &seats)
		var u0Seat int64
		for _, s := range seats.Items {
			if s.Member == "u0@example.com" {
				u0Seat = s.ID
			}
		}
		if u0Seat == 0 {
			t.Fatalf("u0's seat not listed: %+v", seats.Items)
		}
		h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/move", u0Seat), map[string]string{"to": "team-x"}).MustStatus(t, 202)
		waitActive(t, h, "u0@example.com", codes[0], "team-x")
		for _, n := range []string{"team-2", "team-3"} {
			h.Do("POST", "/api/v1/pools", map[string]any{"name": n, "kind": "team", "capacity": 10, "provider": map[string]any{"type": "sim"}}).MustStatus(t, 201)
		}
		// team-1 6, team-x 1 (u0, pinned), team-2 0, team-3 0, once u0's
		// old seat is released.
		apptest.Eventually(t, 10*time.Second, "u0's old seat released", func() bool { return usedOf(t, h)["team-1"] == 6 })
		before := usedOf(t, h)
		if before["team-1"] != 6 || before["team-x"] != 1 {
			t.Fatalf("fleet %v", before)
		}
		charged := rebindsCharged(t, h)

		// Bad params: problem+json naming the field.
		for _, tc := range []struct {
			params map[string]any
			word   string
		}{
			{map[string]any{"kind": "team", "max_moves": 0, "strategy": "spread"}, "max_moves"},
			{map[string]any{"kind": "boat", "max_moves": 3}, "kind"},
			{map[string]any{"kind": "team", "max_moves": 3, "strategy": "random"}, "strategy"},
			{map[string]any{"kind": "team", "max_moves": 3, "group": "nobody"}, "group nobody"},
		} {
			wantProblem(t, h.Do("POST", "/api/v1/plans", map[string]any{"action": "rebalance", "params": tc.params}), 422, tc.word)
		}

		var p rebalancePlan
		h.Do("POST", "/api/v1/plans", map[string]any{"action": "rebalance", "params": map[string]any{"kind": "team", "max_moves": 3, "strategy": "spread"}}).
			MustStatus(t, 201).JSON(t, &p)
		if len(p.Steps) != 3 || p.Summary.Moves != 3 || p.Summary.Pinned != 1 || p.Summary.Strategy != "spread" {
			t.Fatalf("plan %+v", p)
		}
		if !(p.Summary.After.UtilizationStddev < p.Summary.Before.UtilizationStddev) || p.Summary.Before.UtilizationRange != 0.6 {
			t.Fatalf("imbalance %+v → %+v", p.Summary.Before, p.Summary.After)
		}
		want := map[string]int{}
		for k, v := range before {
			want[k] = v
		}
		for _, s := range p.Steps {
			if s.Op != "move.paced" || s.Pool != "team-1" || s.Member == "u0@example.com" || s.To == "team-1" {
				t.Fatalf("step %+v", s)
			}
			want[s.Pool]--
			want[s.To]++
		}
		if h := usedOf(t, h); h["team-1"] != 6 {
			t.Fatalf("planning moved someone: %v", h)
		}

		var applied rebalancePlan
		applyPlan(h, p.ID).MustStatus(t, 200).JSON(t, &applied)
		if applied.Result == nil || applied.Result.Scheduled != 3 || applied.Result.Done != 0 {
			t.Fatalf("applied %+v", applied.Result)
		}
		// The paced runner, two moves a turn.
		run := plans.New(h.App.Store, h.App.Alloc)
		ctx := context.Background()
		if n, err := run.RunPaced(ctx, 2); err != nil || n != 2 {
			t.Fatalf("first turn: %d %v", n, err)
		}
		var got rebalancePlan
		h.Do("GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil).MustStatus(t, 200).JSON(t, &got)
		if got.Result == nil || got.Result.Done != 2 || got.Result.Scheduled != 1 {
			t.Fatalf("after a turn: %+v", got.Result)
		}
		if n, err := run.RunPaced(ctx, 2); err != nil || n != 1 {
			t.Fatalf("second turn: %d %v", n, err)
		}
		if n, err := run.RunPaced(ctx, 2); err != nil || n != 0 {
			t.Fatalf("nothing left: %d %v", n, err)
		}
		got = rebalancePlan{}
		h.Do("GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil).MustStatus(t, 200).JSON(t, &got)
		if got.Result == nil || got.Result.Done != 3 || got.Result.Scheduled != 0 {
			t.Fatalf("after the turns: %+v", got.Result)
		}
		apptest.Eventually(t, 10*time.Second, "the moves done", func() bool {
			var pending int
			h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM moves WHERE state = 'pending'`).Scan(&pending)
			return pending == 0
		})
		// The old seats count until released.
		apptest.Eventually(t, 10*time.Second, fmt.Sprintf("the fleet the plan said, %v", want), func() bool {
			return fmt.Sprint(usedOf(t, h)) == fmt.Sprint(want)
		})
		// Each step's move is a free one, done (its reason said rebalance
		// while pending; done, it says where to).
		for _, s := range p.Steps {
			var state string
			var paid int
			if err := h.App.Store.DB.QueryRow(`SELECT state, paid FROM moves WHERE from_seat = $1`, s.SeatID).Scan(&state, &paid); err != nil || state != "done" || paid != 0 {
				t.Fatalf("move off seat %d: %s paid=%d %v", s.SeatID, state, paid, err)
			}
		}
		if c := rebindsCharged(t, h); c != charged {
			t.Fatalf("rebinds charged %d → %d", charged, c)
		}

		// A step whose member left since the apply fails alone.
		p = rebalancePlan{}
		h.Do("POST", "/api/v1/plans", map[string]any{"action": "rebalance", "params": map[string]any{"kind": "team", "max_moves": 5, "strategy": "spread",
			"skip_moved_within": "0s"}}).MustStatus(t, 201).JSON(t, &p)
		if p.Summary.Pinned != 0 {
			t.Fatalf("skip_moved_within 0s pinned %d", p.Summary.Pinned)
		}
		if len(p.Steps) > 0 {
			applyPlan(h, p.ID).MustStatus(t, 200)
			h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/move", p.Steps[0].SeatID), map[string]string{}).MustStatus(t, 202)
			if _, err := run.RunPaced(ctx, 10); err != nil {
				t.Fatal(err)
			}
			got = rebalancePlan{}
			h.Do("GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil).MustStatus(t, 200).JSON(t, &got)
			if got.Result == nil || got.Result.Failed < 1 || got.Result.Scheduled != 0 {
				t.Fatalf("a moved member's step: %+v", got.Result)
			}
		}

		// A pack plan applied, then stopped: nothing of it runs.
		p = rebalancePlan{}
		h.Do("POST", "/api/v1/plans", map[string]any{"action": "rebalance", "params": map[string]any{"kind": "team", "max_moves": 10, "strategy": "pack",
			"skip_moved_within": "0s"}}).MustStatus(t, 201).JSON(t, &p)
		if len(p.Steps) == 0 || p.Summary.After.InUse >= p.Summary.Before.InUse {
			t.Fatalf("pack plan %+v", p)
		}
		applyPlan(h, p.ID).MustStatus(t, 200)
		got = rebalancePlan{}
		h.Do("POST", fmt.Sprintf("/api/v1/plans/%d/cancel", p.ID), nil).MustStatus(t, 200).JSON(t, &got)
		if got.Result == nil || got.Result.Cancelled != len(p.Steps) || got.Result.Scheduled != 0 {
			t.Fatalf("stopped: %+v", got.Result)
		}
		wantProblem(t, h.Do("POST", fmt.Sprintf("/api/v1/plans/%d/cancel", p.ID), nil), 409, "no scheduled moves")
		if n, err := run.RunPaced(ctx, 10); err != nil || n != 0 {
			t.Fatalf("a stopped plan ran %d moves: %v", n, err)
		}
	})
}

// A pack rebalance empties the least filled pool; the rebalance_step job
// runs it by itself, a move a turn.
func TestRebalancePackPlanJob(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d, func(c *app.Config) {
			c.Jobs.RebalanceEvery = 100 * time.Millisecond
			c.Jobs.RebalanceMovesPerMinute = 1
		})
		ids := teams(h, 1, 4)
		codes := genCodes(t, h, 3, nil)
		for i, c := range codes[:2] {
			redeem(t, h, fmt.Sprintf("u%d@example.com", i), c)
			waitActive(t, h, fmt.Sprintf("u%d@example.com", i), c, "team-1")
		}
		// team-1 2/4; then team-2 gets the third user.
		h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids["team-1"]}, "status": "paused", "message": "test"}).MustStatus(t, 200)
		h.Do("POST", "/api/v1/pools", map[string]any{"name": "team-2", "kind": "team", "capacity": 4, "provider": map[string]any{"type": "sim"}}).MustStatus(t, 201)
		redeem(t, h, "u2@example.com", codes[2])
		waitActive(t, h, "u2@example.com", codes[2], "team-2")
		h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids["team-1"]}, "status": "active", "message": "test"}).MustStatus(t, 200)
		if u := usedOf(t, h); u["team-1"] != 2 || u["team-2"] != 1 {
			t.Fatalf("fleet %v", u)
		}
		var p rebalancePlan
		h.Do("POST", "/api/v1/plans", map[string]any{"action": "rebalance", "params": map[string]any{"kind": "team", "max_moves": 10, "strategy": "pack"}}).
			MustStatus(t, 201).JSON(t, &p)
		if len(p.Steps) != 1 || p.Steps[0].Pool != "team-2" || p.Steps[0].To != "team-1" || p.Summary.Before.InUse != 2 || p.Summary.After.InUse != 1 {
			raw, _ := json.Marshal(p)
			t.Fatalf("pack plan %s", raw)
		}
		applyPlan(h, p.ID).MustStatus(t, 200)
		waitActive(t, h, "u2@example.com", codes[2], "team-1")
		apptest.Eventually(t, 10*time.Second, "team-2 empty", func() bool { return usedOf(t, h)["team-2"] == 0 })
		var got rebalancePlan
		h.Do("GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil).MustStatus(t, 200).JSON(t, &got)
		if got.Result == nil || got.Result.Done != 1 {
			t.Fatalf("result %+v", *got.Result)
		}
		if c := rebindsCharged(t, h); c != 0 {
			t.Fatalf("rebinds charged: %d", c)
		}
	})
}
