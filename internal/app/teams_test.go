package app_test

import (
	"fmt"
	"net/http"
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

type seatStatus struct {
	State       string
	Pool        string
	Position    int
	RebindCount int  `json:"rebind_count"`
	RebindLimit int  `json:"rebind_limit"`
	Free        bool `json:"free"`
	Message     string
}

func genCodes(t *testing.T, h *apptest.Harness, n int, extra map[string]any) []string {
	t.Helper()
	body := map[string]any{"count": n, "max_uses": 1, "valid_for": "720h", "rebind_limit": 3}
	for k, v := range extra {
		body[k] = v
	}
	var res struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", body).MustStatus(t, 201).JSON(t, &res)
	if len(res.Codes) != n {
		t.Fatalf("%d codes", len(res.Codes))
	}
	return res.Codes
}

func redeem(t *testing.T, h *apptest.Harness, email, code string) (seatStatus, apptest.Response) {
	t.Helper()
	return publicPost(t, h, "redeem", email, code)
}

func rebind(t *testing.T, h *apptest.Harness, email, code string) (seatStatus, apptest.Response) {
	t.Helper()
	return publicPost(t, h, "rebind", email, code)
}

// publicPost sends email and code to the public route /api/v1/public/<route>
// as a user would (no token) and decodes the seat status of a 200.
func publicPost(t *testing.T, h *apptest.Harness, route, email, code string) (seatStatus, apptest.Response) {
	t.Helper()
	r := h.DoAuth("POST", "/api/v1/public/"+route, map[string]string{"email": email, "code": code}, "")
	var s seatStatus
	if r.Status == 200 {
		r.JSON(t, &s)
	}
	return s, r
}

// seatUser adds n teams of 10 seats (teams) to h, gives user@example.com
// one new code (genCodes' extra settings), redeems it and waits for the
// seat to be active on team-1, the first team. It returns the teams' ids
// and the code.
func seatUser(t *testing.T, h *apptest.Harness, n int, extra map[string]any) (map[string]int64, string) {
	t.Helper()
	ids := teams(h, n, 10)
	code := genCodes(t, h, 1, extra)[0]
	redeem(t, h, "user@example.com", code)
	waitActive(t, h, "user@example.com", code, "team-1")
	return ids, code
}

// redeemAtOnce has users from to to-1 redeem at once, each in a goroutine
// of its own: user<i>@example.com redeems codes[i] on
// replicas[i%len(replicas)] after wait(i) (nil: no wait). Each must be
// answered 200; it returns what each was told (user i at i-from).
func redeemAtOnce(t *testing.T, replicas []*apptest.Harness, codes []string, from, to int, wait func(i int) time.Duration) []seatStatus {
	t.Helper()
	var wg sync.WaitGroup
	results := make([]seatStatus, to-from)
	for i := from; i < to; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if wait != nil {
				time.Sleep(wait(i))
			}
			s, r := redeem(t, replicas[i%len(replicas)], fmt.Sprintf("user%d@example.com", i), codes[i])
			if r.Status != 200 {
				t.Errorf("redeem %d: %d %s", i, r.Status, r.Body)
			}
			results[i-from] = s
		}()
	}
	wg.Wait()
	return results
}

func publicStatus(t *testing.T, h *apptest.Harness, email, code string) seatStatus {
	t.Helper()
	var s seatStatus
	h.DoAuth("GET", "/api/v1/public/status?email="+email+"&code="+code, nil, "").MustStatus(t, 200).JSON(t, &s)
	return s
}

func teams(h *apptest.Harness, n, capacity int) map[string]int64 {
	return teamsWith(h, n, capacity, map[string]any{"type": "sim"})
}

func teamsWith(h *apptest.Harness, n, capacity int, provider map[string]any) map[string]int64 {
	ids := map[string]int64{}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("team-%d", i)
		var p struct{ ID int64 }
		h.Do("POST", "/api/v1/pools", map[string]any{"name": name, "kind": "team", "capacity": capacity, "priority": i,
			"provider": provider}).MustStatus(h.T, 201).JSON(h.T, &p)
		ids[name] = p.ID
	}
	return ids
}

// wantOneCodeUsed fails unless email has exactly one code, used uses times
// (when says at which point of the test).
func wantOneCodeUsed(t *testing.T, h *apptest.Harness, email string, uses int, when string) {
	t.Helper()
	var list struct {
		Items []struct {
			UsedCount int `json:"used_count"`
		}
	}
	h.Do("GET", "/api/v1/codes?email="+email, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].UsedCount != uses {
		t.Fatalf("code %s: %+v, want one used %d times", when, list.Items, uses)
	}
}

func setStatus(t *testing.T, h *apptest.Harness, status string, ids ...int64) {
	t.Helper()
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": ids, "status": status, "message": "test"}).MustStatus(t, 200)
}

func waitActive(t *testing.T, h *apptest.Harness, email, code, pool string) seatStatus {
	t.Helper()
	var s seatStatus
	apptest.Eventually(t, 10*time.Second, email+" active on "+pool, func() bool {
		s = publicStatus(t, h, email, code)
		return s.State == "active" && !strings.Contains(s.Message, "moving") && (pool == "" || s.Pool == pool)
	})
	return s
}

// Checklist test 1 of the origin report: banned and credential_invalid
// teams receive nobody, for new users and for moves.
func TestTeamChecklist1_UnhealthyTeamsReceiveNobody(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids := teams(h, 3, 10)
		setStatus(t, h, "banned", ids["team-1"])
		setStatus(t, h, "credential_invalid", ids["team-2"])
		codes := genCodes(t, h, 5, nil)
		for i, c := range codes {
			s, r := redeem(t, h, fmt.Sprintf("u%d@example.com", i), c)
			if r.Status != 200 || s.Pool != "team-3" {
				t.Fatalf("redeem %d: %d %s", i, r.Status, r.Body)
			}
		}
		// With team-3 full too, a user is queued, never sent to a bad team.
		h.Do("PATCH", fmt.Sprintf("/api/v1/pools/%d", ids["team-3"]), map[string]any{"capacity": 5}).MustStatus(t, 200)
		more := genCodes(t, h, 1, nil)
		s, r := redeem(t, h, "late@example.com", more[0])
		if r.Status != 200 || s.State != "queued" || s.Position != 1 {
			t.Fatalf("late redeem: %d %s", r.Status, r.Body)
		}
	})
}

// Checklist 3A: a move off a banned team is free (1/3 stays 1/3), lands in
// a healthy team, and the user is removed from the old one.
func TestTeamChecklist3A_FreeMoveOffBannedTeam(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids, code := seatUser(t, h, 3, nil)
		// One paid move first: 0/3 → 1/3, to team-2.
		if s, r := rebind(t, h, "user@example.com", code); r.Status != 200 || s.Free || s.RebindCount != 1 {
			t.Fatalf("paid move: %d %s", r.Status, r.Body)
		}
		waitActive(t, h, "user@example.com", code, "team-2")
		setStatus(t, h, "banned", ids["team-2"])
		s, r := rebind(t, h, "user@example.com", code)
		if r.Status != 200 || !s.Free || s.RebindCount != 1 || s.RebindLimit != 3 {
			t.Fatalf("free move: %d %s", r.Status, r.Body)
		}
		got := waitActive(t, h, "user@example.com", code, "")
		if got.Pool == "team-2" || got.RebindCount != 1 {
			t.Fatalf("after free move: %+v", got)
		}
		apptest.Eventually(t, 10*time.Second, "removal from the banned team", func() bool {
			return !h.Sims.Get("team-2").Has("user@example.com")
		})
		hist := history(t, h, "member=user@example.com&action=move.requested")
		if len(hist) != 2 || !strings.HasPrefix(hist[0].Reason, "free: team-2 is banned") || !strings.HasPrefix(hist[1].Reason, "paid: rebind 1 of 3") {
			t.Fatalf("move history: %+v", hist)
		}
	})
}

// Checklist 3B: a move off an active team costs one (0/3 → 1/3) and removes
// the user from the old team; at the limit a paid move is refused with 409.
func TestTeamChecklist3B_PaidMoveAndLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		_, code := seatUser(t, h, 3, map[string]any{"rebind_limit": 1})
		s, r := rebind(t, h, "user@example.com", code)
		if r.Status != 200 || s.Free || s.RebindCount != 1 {
			t.Fatalf("paid move: %d %s", r.Status, r.Body)
		}
		waitActive(t, h, "user@example.com", code, "team-2")
		apptest.Eventually(t, 10*time.Second, "removal from team-1", func() bool { return !h.Sims.Get("team-1").Has("user@example.com") })
		_, r = rebind(t, h, "user@example.com", code)
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "1 of 1 moves used") {
			t.Fatalf("past the limit: %d %s", r.Status, r.Body)
		}
	})
}

func TestRedeemErrorsAndIdempotence(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	teams(h, 1, 10)
	codes := genCodes(t, h, 3, nil)
	first, r := redeem(t, h, "  User@Example.com ", codes[0])
	if r.Status != 200 || first.Pool != "team-1" {
		t.Fatalf("redeem: %d %s", r.Status, r.Body)
	}
	// Repeating returns the same seat; the code is used once.
	again, r := redeem(t, h, "user@example.com", strings.ToLower(codes[0]))
	if r.Status != 200 || again.Pool != first.Pool {
		t.Fatalf("repeat: %d %s", r.Status, r.Body)
	}
	wantOneCodeUsed(t, h, "user@example.com", 1, "after two redeems")
	h.Do("PATCH", "/api/v1/codes/"+codes[2], map[string]string{"status": "disabled"}).MustStatus(t, 200)
	unknown := "ZZZZ-ZZZZ-ZZZZ-ZZZZ"
	cases := []struct {
		email, code string
		status      int
		detail      string
	}{
		{"not-an-email", codes[1], 422, "not an email address"},
		{"a@example.com", "short", 422, "not a redeem code"},
		{"other@example.com", codes[0], 403, "cannot be used with this email"}, // bound elsewhere
		{"other@example.com", unknown, 403, "cannot be used with this email"},  // unknown: same answer
		{"c@example.com", codes[2], 403, "disabled"},
	}
	bodies := map[int]string{}
	for i, c := range cases {
		_, r := redeem(t, h, c.email, c.code)
		if r.Status != c.status || !strings.Contains(string(r.Body), c.detail) {
			t.Errorf("%s/%s: %d %s", c.email, c.code, r.Status, r.Body)
		}
		bodies[i] = strings.ReplaceAll(string(r.Body), c.code, "")
	}
	if bodies[2] != bodies[3] {
		t.Errorf("unknown and bound-elsewhere answers differ:\n%s\n%s", bodies[2], bodies[3])
	}
}

// 200 distinct users redeem at once for 50 free seats: exactly 50 seated,
// 150 queued with positions 1..150, no code used twice.
func Test200RedeemsFor50Seats(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		h.App.API.SetPublicRate(1e6, 1e6)
		teams(h, 5, 10)
		results := redeemAtOnce(t, []*apptest.Harness{h}, genCodes(t, h, 200, nil), 0, 200, nil)
		seated, positions := 0, map[int]bool{}
		for _, s := range results {
			switch s.State {
			case "pending", "active":
				seated++
			case "queued":
				positions[s.Position] = true
			}
		}
		if seated != 50 || len(positions) != 150 {
			t.Fatalf("seated %d, distinct queue positions %d", seated, len(positions))
		}
		for p := 1; p <= 150; p++ {
			if !positions[p] {
				t.Fatalf("queue position %d missing", p)
			}
		}
		var used int
		h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM codes WHERE used_count > 1 OR (used_count = 1 AND bound_email = '')`).Scan(&used)
		if used != 0 {
			t.Fatalf("%d codes used wrongly", used)
		}
		checkNoOverbooking(t, h)
	})
}

// 100 rebind requests with one code at once: 429s beyond 3 a minute, and the
// count equals the successful paid moves, never above the limit.
func Test100ConcurrentRebindsOneCode(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		h.App.API.SetPublicRate(1e6, 1e6)
		// Slow teams keep the first move in flight while the others arrive.
		teamsWith(h, 4, 10, map[string]any{"type": "sim", "latency_ms": 1500})
		code := genCodes(t, h, 1, map[string]any{"rebind_limit": 2})[0]
		redeem(t, h, "user@example.com", code)
		apptest.Eventually(t, 10*time.Second, "seat active", func() bool { return publicStatus(t, h, "user@example.com", code).State == "active" })
		var mu sync.Mutex
		byStatus := map[int]int{}
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, r := rebind(t, h, "user@example.com", code)
				mu.Lock()
				byStatus[r.Status]++
				mu.Unlock()
				if r.Status == 429 && r.Header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
			}()
		}
		wg.Wait()
		if byStatus[429] != 97 || byStatus[200] != 3 {
			t.Fatalf("statuses %v; want 3×200 (one move, two 'in progress') and 97×429", byStatus)
		}
		var charged, count, limit int
		h.App.Store.DB.QueryRow(`SELECT rebind_count, rebind_limit FROM codes`).Scan(&count, &limit)
		h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM moves WHERE paid = 1 AND state IN ('pending', 'done')`).Scan(&charged)
		if count != charged || count > limit || count != 1 {
			t.Fatalf("rebind_count %d, paid moves %d, limit %d (one move at a time: 1 expected)", count, charged, limit)
		}
	})
}

// The public routes are limited per client address.
func TestPublicPerAddressLimit(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	// A refill every 100s: none comes during the ten requests, however slow
	// the machine.
	h.App.API.SetPublicRate(0.01, 5)
	codes := genCodes(t, h, 1, nil)
	limited := 0
	for range 10 {
		r := h.DoAuth("GET", "/api/v1/public/status?email=a@example.com&code="+codes[0], nil, "")
		if r.Status == 429 {
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	if limited != 5 {
		t.Fatalf("%d of 10 requests limited; want 5 past the burst", limited)
	}
}

// A member-level refusal by the provider (e.g. an address it will not take)
// fails the seat and gives the code's use back.
func TestMemberRefusalRefundsCodeUse(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	teams(h, 1, 10)
	h.Sims.New("team-1", sim.Config{}).SetFailNext(1, provider.MemberPermanent)
	code := genCodes(t, h, 1, nil)[0]
	redeem(t, h, "user@example.com", code)
	apptest.Eventually(t, 10*time.Second, "refund", func() bool {
		return len(history(t, h, "member=user@example.com&action=code.refunded")) == 1
	})
	wantOneCodeUsed(t, h, "user@example.com", 0, "after refusal")
	var rep integrityReport
	h.Do("GET", "/api/v1/integrity?grace=1ms", nil).JSON(t, &rep)
	if len(rep.Drift) != 0 {
		t.Fatalf("drift after refund: %+v", rep.Drift)
	}
}
