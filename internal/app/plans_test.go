package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

type planView struct {
	ID    int64
	State string
	Steps []struct {
		Op, Pool, Member, From, To string
		SeatID                     int64 `json:"seat_id"`
	}
	Result *struct {
		Done, Queued, Failed int
		Steps                []struct{ Status, Pool, Detail string }
	}
}

func makePlan(t *testing.T, h *apptest.Harness, action string, params any) planView {
	t.Helper()
	var p planView
	h.Do("POST", "/api/v1/plans", map[string]any{"action": action, "params": params}).MustStatus(t, 201).JSON(t, &p)
	if p.ID == 0 || p.State != "open" {
		t.Fatalf("plan %s: %+v", action, p)
	}
	return p
}

func applyPlan(h *apptest.Harness, id int64) apptest.Response {
	return h.Do("POST", fmt.Sprintf("/api/v1/plans/%d/apply", id), nil)
}

// wantProblem fails unless r is a problem+json answer of status whose
// detail says each of words.
func wantProblem(t *testing.T, r apptest.Response, status int, words ...string) {
	t.Helper()
	var p struct{ Detail string }
	r.MustStatus(t, status).JSON(t, &p)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, w := range words {
		if !strings.Contains(p.Detail, w) {
			t.Errorf("%d detail %q does not say %q", status, p.Detail, w)
		}
	}
}

func poolStatus(t *testing.T, h *apptest.Harness, id int64) string {
	t.Helper()
	var p struct{ Status string }
	h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", id), nil).MustStatus(t, 200).JSON(t, &p)
	return p.Status
}

// Plan, then apply (issue 14 §2): a plan applies exactly its steps, once;
// a pool's status or a member changed since the plan is a 409 naming it;
// an expired plan is a 410; two applies at once: one wins.
func TestPlansApply(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids, code := seatUser(t, h, 3, nil) // user@example.com on team-1

		// A status plan, applied; then applied again: 409.
		p := makePlan(t, h, "pools.status", map[string]any{"ids": []int64{ids["team-3"]}, "status": "paused", "message": "maintenance"})
		if len(p.Steps) != 1 || p.Steps[0].Op != "pool.status" || p.Steps[0].From != "active" || p.Steps[0].To != "paused" {
			t.Fatalf("steps %+v", p.Steps)
		}
		if s := poolStatus(t, h, ids["team-3"]); s != "active" {
			t.Fatalf("planning changed team-3 to %s", s)
		}
		var applied planView
		applyPlan(h, p.ID).MustStatus(t, 200).JSON(t, &applied)
		if applied.State != "applied" || applied.Result == nil || applied.Result.Done != 1 {
			t.Fatalf("applied %+v", applied)
		}
		if s := poolStatus(t, h, ids["team-3"]); s != "paused" {
			t.Fatalf("team-3 is %s after apply", s)
		}
		wantProblem(t, applyPlan(h, p.ID), http.StatusConflict, "applied")
		var got planView
		h.Do("GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil).MustStatus(t, 200).JSON(t, &got)
		if got.State != "applied" || got.Result == nil {
			t.Fatalf("GET %+v", got)
		}

		// A pool's status changed between plan and apply: 409 naming it,
		// and nothing of the plan applied.
		p = makePlan(t, h, "pools.status", map[string]any{"ids": []int64{ids["team-2"], ids["team-3"]}, "status": "active"})
		setStatus(t, h, "banned", ids["team-2"])
		wantProblem(t, applyPlan(h, p.ID), http.StatusConflict, "team-2", "banned")
		if s := poolStatus(t, h, ids["team-3"]); s != "paused" {
			t.Fatalf("a refused plan changed team-3 to %s", s)
		}
		setStatus(t, h, "active", ids["team-2"], ids["team-3"])

		// A member moved between plan and apply: 409 naming the member.
		p = makePlan(t, h, "pools.drain", map[string]any{"id": ids["team-1"]})
		if len(p.Steps) != 2 || p.Steps[1].Op != "move" || p.Steps[1].Member != "user@example.com" || p.Steps[1].To == "" {
			t.Fatalf("drain steps %+v", p.Steps)
		}
		h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/move", p.Steps[1].SeatID), map[string]string{"to": "team-3"}).MustStatus(t, 202)
		wantProblem(t, applyPlan(h, p.ID), http.StatusConflict, "user@example.com")
		waitActive(t, h, "user@example.com", code, "team-3")
		if s := poolStatus(t, h, ids["team-1"]); s != "active" {
			t.Fatalf("a refused drain plan set team-1 %s", s)
		}

		// A drain plan applied: the member goes where the plan said.
		p = makePlan(t, h, "pools.drain", map[string]any{"id": ids["team-3"]})
		target := p.Steps[1].To
		applyPlan(h, p.ID).MustStatus(t, 200).JSON(t, &applied)
		if applied.Result == nil || applied.Result.Done != 2 || applied.Result.Steps[1].Pool != target {
			t.Fatalf("drain applied %+v", applied.Result)
		}
		waitActive(t, h, "user@example.com", code, target)
		if s := poolStatus(t, h, ids["team-3"]); s != "draining" {
			t.Fatalf("team-3 is %s after its drain", s)
		}

		// Expired: 410, and nothing applied.
		p = makePlan(t, h, "pools.status", map[string]any{"ids": []int64{ids["team-2"]}, "status": "paused"})
		if _, err := h.App.Store.DB.Exec(`UPDATE plans SET expires_at = $1 WHERE id = $2`, time.Now().Add(-time.Second).UnixMicro(), p.ID); err != nil {
			t.Fatal(err)
		}
		h.Do("GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil).MustStatus(t, 200).JSON(t, &got)
		if got.State != "expired" {
			t.Fatalf("state %q past expires_at", got.State)
		}
		wantProblem(t, applyPlan(h, p.ID), http.StatusGone, "expired")
		if s := poolStatus(t, h, ids["team-2"]); s != "active" {
			t.Fatalf("an expired plan set team-2 %s", s)
		}

		// Two applies of one plan at once: exactly one applies.
		for round := 0; round < 5; round++ {
			status := []string{"paused", "active"}[round%2]
			p = makePlan(t, h, "pools.status", map[string]any{"ids": []int64{ids["team-2"]}, "status": status})
			var wg sync.WaitGroup
			codes := make([]int, 2)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = applyPlan(h, p.ID).Status
				}()
			}
			wg.Wait()
			if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
				t.Fatalf("round %d: concurrent applies answered %v; want one 200 and one 409", round, codes)
			}
			var n int
			h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM history WHERE action = 'pool.status' AND reason LIKE $1`, fmt.Sprintf("plan %d %%", p.ID)).Scan(&n)
			if n != 1 {
				t.Fatalf("round %d: %d status history rows for plan %d", round, n, p.ID)
			}
		}
	})
}

// An integrity repair planned and applied releases exactly the planned
// seat; planned again after the orphan changed, the apply is refused.
func TestPlansIntegrityRepair(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids, code := seatUser(t, h, 2, nil)
		orphanSeat(t, h, ids["team-2"])
		setStatus(t, h, "banned", ids["team-1"])
		time.Sleep(10 * time.Millisecond)
		p := makePlan(t, h, "integrity.repair", map[string]any{"limit": 10, "grace": "1ms"})
		if len(p.Steps) != 1 || p.Steps[0].Op != "release" || p.Steps[0].Pool != "team-1" {
			t.Fatalf("repair steps %+v", p.Steps)
		}
		// The orphan's pools changed: team-1 is active again.
		setStatus(t, h, "active", ids["team-1"])
		wantProblem(t, applyPlan(h, p.ID), http.StatusConflict, "team-1")
		setStatus(t, h, "banned", ids["team-1"])
		var applied planView
		applyPlan(h, makePlan(t, h, "integrity.repair", map[string]any{"limit": 10, "grace": "1ms"}).ID).MustStatus(t, 200).JSON(t, &applied)
		if applied.Result == nil || applied.Result.Done != 1 {
			t.Fatalf("repair applied %+v", applied.Result)
		}
		apptest.Eventually(t, 10*time.Second, "orphan repaired", func() bool {
			return !h.Sims.Get("team-1").Has("user@example.com")
		})
		if s := publicStatus(t, h, "user@example.com", code); s.Pool != "team-2" {
			t.Fatalf("kept %+v", s)
		}
	})
}

// A migration planned to a named team moves the member there when applied;
// a target that filled up since the plan is a 409 naming its room.
func TestPlansMigrate(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids, code := seatUser(t, h, 3, nil) // user@example.com on team-1
		p := makePlan(t, h, "migrate", map[string]any{"from": []string{"team-1"}, "to": "team-2"})
		if len(p.Steps) != 2 || p.Steps[0].Op != "pool.status" || p.Steps[1].Op != "move" || p.Steps[1].To != "team-2" {
			t.Fatalf("migrate steps %+v", p.Steps)
		}
		// team-2 has no room any more: capacity down to what it holds (0).
		h.Do("PATCH", fmt.Sprintf("/api/v1/pools/%d", ids["team-2"]), map[string]any{"capacity": 0}).MustStatus(t, 200)
		wantProblem(t, applyPlan(h, p.ID), http.StatusConflict, "team-2", "free seat")
		h.Do("PATCH", fmt.Sprintf("/api/v1/pools/%d", ids["team-2"]), map[string]any{"capacity": 10}).MustStatus(t, 200)
		p = makePlan(t, h, "migrate", map[string]any{"from": []string{"team-1"}, "to": "team-2"})
		var applied planView
		applyPlan(h, p.ID).MustStatus(t, 200).JSON(t, &applied)
		if applied.Result == nil || applied.Result.Done != 2 {
			t.Fatalf("migrate applied %+v", applied.Result)
		}
		waitActive(t, h, "user@example.com", code, "team-2")
		if s := poolStatus(t, h, ids["team-1"]); s != "draining" {
			t.Fatalf("team-1 is %s after the migration", s)
		}
	})
}
