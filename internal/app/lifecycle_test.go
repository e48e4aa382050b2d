package app_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/sim"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Issue 15 §3: behaviour a reviewer confirmed by hand, held by tests.

// releaseSeat releases email's live seat (an operator's release) and waits
// until the removal from the team is done (the status says released
// before, while the removal runs: issue 15 §4).
func releaseSeat(t *testing.T, h *apptest.Harness, email, code string) {
	t.Helper()
	var seats struct{ Items []struct{ ID int64 } }
	h.Do("GET", "/api/v1/seats?email="+email+"&state=active", nil).MustStatus(t, 200).JSON(t, &seats)
	if len(seats.Items) != 1 {
		t.Fatalf("%s: %d active seats, want 1", email, len(seats.Items))
	}
	before := len(history(t, h, "member="+email+"&action=released"))
	h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/release", seats.Items[0].ID), nil).MustStatus(t, 202)
	apptest.Eventually(t, 10*time.Second, email+" released", func() bool {
		return len(history(t, h, "member="+email+"&action=released")) == before+1 && publicStatus(t, h, email, code).State == "released"
	})
}

// A code with max_uses 2 seats its e-mail twice (a release between) and
// refuses the third use with 409; another e-mail is refused all along (the
// code is bound to its first). A vip code lands in the vip team and a code
// of another group in its own team, never in the vip team, though the vip
// team has the most room (the teams' strategy, spread, would pick it).
func TestCodeUsedUpAndGroupRouting(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		labelledPool(t, h, "vip-1", "team", "vip", 10, 1)
		labelledPool(t, h, "basic-1", "team", "basic", 2, 2)
		vip := genCodes(t, h, 1, map[string]any{"group": "vip", "max_uses": 2})[0]
		basic := genCodes(t, h, 1, map[string]any{"group": "basic"})[0]

		if s, r := redeem(t, h, "b@example.com", basic); r.Status != 200 || s.Pool != "basic-1" {
			t.Fatalf("basic code: %d %s, want a seat on basic-1 (the vip team is closed to it)", r.Status, r.Body)
		}
		for use := 1; use <= 2; use++ {
			if s, r := redeem(t, h, "v@example.com", vip); r.Status != 200 || s.Pool != "vip-1" {
				t.Fatalf("vip code, use %d: %d %s, want a seat on vip-1", use, r.Status, r.Body)
			}
			waitActive(t, h, "v@example.com", vip, "vip-1")
			wantOneCodeUsed(t, h, "v@example.com", use, fmt.Sprintf("after use %d", use))
			if _, r := redeem(t, h, "other@example.com", vip); r.Status != 403 {
				t.Fatalf("another e-mail with the bound code: %d %s, want 403", r.Status, r.Body)
			}
			releaseSeat(t, h, "v@example.com", vip)
		}
		_, r := redeem(t, h, "v@example.com", vip)
		if r.Status != 409 || !strings.Contains(string(r.Body), "no uses left") {
			t.Fatalf("third use of a code with max_uses 2: %d %s, want 409 no uses left", r.Status, r.Body)
		}
		wantOneCodeUsed(t, h, "v@example.com", 2, "after the refused third use")
		if s := publicStatus(t, h, "v@example.com", vip); s.State != "released" {
			t.Fatalf("after the refused third use: %+v, want released", s)
		}
		if h.Sims.Get("vip-1").Has("b@example.com") || !h.Sims.Get("basic-1").Has("b@example.com") {
			t.Fatal("the basic code's user is not (only) in basic-1")
		}
	})
}

// A move off a credential_invalid team and then off an offline team is
// free even for a code whose moves are all used (rebind_limit 0: a paid
// move is refused), lands in a healthy team, and charges nothing.
func TestFreeMovePastLimitOffUnhealthyTeams(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids, code := seatUser(t, h, 3, map[string]any{"rebind_limit": 0})
		if _, r := rebind(t, h, "user@example.com", code); r.Status != 409 || !strings.Contains(string(r.Body), "0 of 0 moves used") {
			t.Fatalf("paid move at the limit: %d %s, want 409", r.Status, r.Body)
		}
		left := map[string]bool{}
		from := "team-1"
		for _, status := range []string{"credential_invalid", "offline"} {
			setStatus(t, h, status, ids[from])
			left[from] = true
			s, r := rebind(t, h, "user@example.com", code)
			if r.Status != 200 || !s.Free || s.RebindCount != 0 || s.RebindLimit != 0 {
				t.Fatalf("move off a %s team with no moves left: %d %s, want a free move", status, r.Status, r.Body)
			}
			got := waitActive(t, h, "user@example.com", code, "")
			if left[got.Pool] || got.RebindCount != 0 {
				t.Fatalf("after the free move off %s (%s): %+v", from, status, got)
			}
			hist := history(t, h, "member=user@example.com&action=move.requested")
			if len(hist) == 0 || !strings.HasPrefix(hist[0].Reason, "free: "+from+" is "+status) {
				t.Fatalf("move history after leaving %s: %+v", from, hist)
			}
			from = got.Pool
		}
		wantOneCodeUsed(t, h, "user@example.com", 1, "after two free moves")
	})
}

// A paid move whose delivery fails for good (the target team refuses the
// member) is a failed move: the user stays where they were and the move's
// count is given back (1/3 → 0/3), with history saying so and the
// integrity check finding no drift.
func TestPaidMoveRefundedAfterFinalDeliveryFailure(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		_, code := seatUser(t, h, 2, nil)
		h.Sims.New("team-2", sim.Config{}).SetFailNext(1, provider.MemberPermanent)
		s, r := rebind(t, h, "user@example.com", code)
		if r.Status != 200 || s.Free || s.RebindCount != 1 {
			t.Fatalf("paid move: %d %s, want charged 1", r.Status, r.Body)
		}
		apptest.Eventually(t, 10*time.Second, "the rebind given back", func() bool {
			return len(history(t, h, "member=user@example.com&action=rebind.refunded")) == 1
		})
		if got := actions(history(t, h, "member=user@example.com&action=move.failed")); got != "move.failed" {
			t.Fatalf("move.failed rows: %q", got)
		}
		got := waitActive(t, h, "user@example.com", code, "team-1")
		if got.RebindCount != 0 || got.RebindLimit != 3 {
			t.Fatalf("after the failed paid move: %+v, want 0 of 3 moves used", got)
		}
		var count int
		h.App.Store.DB.QueryRow(`SELECT rebind_count FROM codes`).Scan(&count)
		if count != 0 {
			t.Fatalf("rebind_count %d in the database, want 0", count)
		}
		if h.Sims.Get("team-2").Has("user@example.com") || !h.Sims.Get("team-1").Has("user@example.com") {
			t.Fatal("the user is not (only) in team-1 after the failed move")
		}
		var rep integrityReport
		h.Do("GET", "/api/v1/integrity?grace=1ms", nil).JSON(t, &rep)
		if len(rep.Drift) != 0 {
			t.Fatalf("drift after the refund: %+v", rep.Drift)
		}
	})
}

// The 3-a-minute rebind limit is kept in the database, so two replicas on
// one PostgreSQL database share it: 100 rebind requests for one code, half
// to each replica, get 3 answers and 97 refusals with Retry-After in all.
func TestRebindLimitTwoReplicas(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.Postgres)
	replicas := []*apptest.Harness{h, apptest.StartOn(t, h.DSN)}
	// Slow teams keep the first move in flight while the others arrive.
	teamsWith(h, 4, 10, map[string]any{"type": "sim", "latency_ms": 1500})
	code := genCodes(t, h, 1, map[string]any{"rebind_limit": 2})[0]
	redeem(t, h, "user@example.com", code)
	apptest.Eventually(t, 10*time.Second, "seat active", func() bool { return publicStatus(t, h, "user@example.com", code).State == "active" })
	var mu sync.Mutex
	byStatus := map[string]int{}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, r := rebind(t, replicas[i%2], "user@example.com", code)
			mu.Lock()
			byStatus[fmt.Sprintf("%d on replica %d", r.Status, i%2)]++
			byStatus[fmt.Sprint(r.Status)]++
			mu.Unlock()
			if r.Status == 429 && r.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}()
	}
	wg.Wait()
	if byStatus["429"] != 97 || byStatus["200"] != 3 || byStatus["429 on replica 0"] == 0 || byStatus["429 on replica 1"] == 0 {
		t.Fatalf("statuses %v; want 3×200 and 97×429 over both replicas", byStatus)
	}
	var count int
	h.App.Store.DB.QueryRow(`SELECT rebind_count FROM codes`).Scan(&count)
	if count != 1 {
		t.Fatalf("rebind_count %d, want 1 (one move at a time)", count)
	}
}
