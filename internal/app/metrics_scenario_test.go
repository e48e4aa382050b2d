package app_test

import (
	"bufio"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// parseMetrics reads the Prometheus text format into series → value, the
// series written as exposed (labels sorted by name).
func parseMetrics(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// eventCounters scrapes the process's event registry alone (no database
// gauges, so the integrity cache of the app's /metrics stays cold).
func eventCounters(t *testing.T) map[string]float64 {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(metrics.Events, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return parseMetrics(t, rec.Body.String())
}

func labelledPool(t *testing.T, h *apptest.Harness, name, kind, group string, capacity, priority int) int64 {
	t.Helper()
	body := map[string]any{"name": name, "kind": kind, "capacity": capacity, "priority": priority, "provider": map[string]any{"type": "sim"}}
	if group != "" {
		body["labels"] = map[string]string{"group": group}
	}
	var p struct{ ID int64 }
	h.Do("POST", "/api/v1/pools", body).MustStatus(t, 201).JSON(t, &p)
	return p.ID
}

// A scripted scenario (a banned team, an orphan made on purpose, a full
// server pool, queued members and moves, refused moves), then one scrape of
// /metrics: every gauge and counter has the value the scenario implies.
func TestMetricsScenario(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		before := eventCounters(t)
		st := h.App.Store
		const hour = int64(time.Hour / time.Microsecond)

		team1 := labelledPool(t, h, "team-1", "team", "main", 2, 1)
		labelledPool(t, h, "team-2", "team", "main", 2, 2)
		team3 := labelledPool(t, h, "team-3", "team", "main", 3, 3)
		setStatus(t, h, "paused", team3) // takes nobody; holds the orphan's second seat
		labelledPool(t, h, "worker-01", "server", "", 3, 1)

		// A full server pool and one account waiting.
		items := h.Import("A", apptest.Files("acct", 1, 4))
		if items[3].Status != "queued" {
			t.Fatalf("4th account %+v", items[3])
		}
		waitDelivered(t, h, items)

		// Four users fill team-1 and team-2; a fifth waits.
		codes := genCodes(t, h, 5, map[string]any{"group": "main"})
		limited := genCodes(t, h, 1, map[string]any{"group": "main", "rebind_limit": 0})[0]
		users := []string{"u0@example.com", "u1@example.com", "u2@example.com", "u3@example.com"}
		userCodes := []string{codes[0], codes[1], codes[2], limited}
		for i, u := range users {
			if _, r := redeem(t, h, u, userCodes[i]); r.Status != 200 {
				t.Fatalf("redeem %s: %d %s", u, r.Status, r.Body)
			}
		}
		on := map[string]string{}
		for i, u := range users {
			on[u] = waitActive(t, h, u, userCodes[i], "").Pool
		}
		// Teams spread: u0 and u2 on team-1, u1 and u3 on team-2.
		if on[users[0]] != "team-1" || on[users[1]] != "team-2" || on[users[2]] != "team-1" || on[users[3]] != "team-2" {
			t.Fatalf("placed %v; want u0, u2 on team-1 and u1, u3 on team-2", on)
		}
		if s, r := redeem(t, h, "late@example.com", codes[3]); r.Status != 200 || s.State != "queued" {
			t.Fatalf("late redeem: %d %s", r.Status, r.Body)
		}
		if _, r := redeem(t, h, "other@example.com", codes[0]); r.Status != 403 { // bound to u0
			t.Fatalf("redeem of another's code: %d %s", r.Status, r.Body)
		}

		// team-1 is banned: u0's move is free and waits for room.
		setStatus(t, h, "banned", team1)
		if s, r := rebind(t, h, "u0@example.com", codes[0]); r.Status != 200 || !s.Free || s.State != "queued" {
			t.Fatalf("free move: %d %s", r.Status, r.Body)
		}
		// u3's code allows no paid move: 3 refusals at the limit, then the
		// 4th request in the minute is rate limited.
		for i, want := range []int{409, 409, 409, 429} {
			if _, r := rebind(t, h, "u3@example.com", limited); r.Status != want {
				t.Fatalf("rebind %d of u3: %d %s, want %d", i+1, r.Status, r.Body, want)
			}
		}
		if _, r := rebind(t, h, "nobody@example.com", codes[4]); r.Status != 403 { // unused code
			t.Fatalf("rebind with an unused code: %d %s", r.Status, r.Body)
		}

		// An orphan made on purpose: a second live seat for u1 (on the
		// paused team-3), both seats older than the checker's grace period.
		var u1 int64
		if err := st.DB.QueryRow(`SELECT id FROM members WHERE external_id = 'u1@example.com'`).Scan(&u1); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB.Exec(`UPDATE pools SET used = used + 1 WHERE id = $1`, team3); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SeatCreate(t.Context(), u1, team3, "active", 0, 0); err != nil {
			t.Fatal(err)
		}
		mustExec(t, st, `UPDATE seats SET created_at = created_at - $1 WHERE member_id = $2`, 2*hour, u1)
		// u0's queued move has been pending for an hour: a zombie. The
		// waiting account has waited an hour.
		mustExec(t, st, `UPDATE moves SET created_at = created_at - $1 WHERE state = 'pending'`, hour)
		mustExec(t, st, `UPDATE queue SET enqueued_at = enqueued_at - $1 WHERE kind = 'server'`, hour)

		body := string(h.DoAuth("GET", "/metrics", nil, "").MustStatus(t, 200).Body)
		got := parseMetrics(t, body)
		exact := map[string]float64{
			`orphan_users_count`:                                            1,
			`zombie_rebind_tasks`:                                           1,
			`berth_integrity_overbooked_pools`:                              0,
			`berth_integrity_drift{kind="pool_used"}`:                       0,
			`berth_capacity{group="main",kind="team",status="banned"}`:      2,
			`berth_capacity_used{group="main",kind="team",status="banned"}`: 2,
			`berth_capacity{group="main",kind="team",status="active"}`:      2,
			`berth_capacity_used{group="main",kind="team",status="active"}`: 2,
			`berth_capacity{group="main",kind="team",status="paused"}`:      3,
			`berth_capacity_used{group="main",kind="team",status="paused"}`: 1,
			`berth_pools{group="main",kind="team",status="banned"}`:         1,
			`berth_capacity{group="",kind="server",status="active"}`:        3,
			`berth_capacity_used{group="",kind="server",status="active"}`:   3,
			`berth_capacity{group="",kind="team",status="offline"}`:         0,
			`berth_pool_used{group="",kind="server",pool="worker-01"}`:      3,
			`berth_pool_status{kind="team",pool="team-1",status="banned"}`:  1,
			`berth_seats_by_kind{kind="team",state="active"}`:               5,
			`berth_seats_by_kind{kind="server",state="active"}`:             3,
			`berth_seats_by_kind{kind="team",state="release_failed"}`:       0,
			`berth_queue_waiting{kind="team",type="new"}`:                   1,
			`berth_queue_waiting{kind="team",type="move"}`:                  1,
			`berth_queue_waiting{kind="server",type="new"}`:                 1,
			`berth_queue_depth{kind="team"}`:                                2,
			`berth_moves_pending{free="true"}`:                              1,
			`berth_moves_pending{free="false"}`:                             0,
			`berth_moves_total{free="true",result="done"}`:                  0,
			`berth_jobs{kind="deliver",state="discarded"}`:                  0,
			`berth_scrape_error`:                                            0,
			`berth_scrape_part_error{part="seats"}`:                         0,
			`berth_scrape_part_error{part="queue"}`:                         0,
			`berth_scrape_part_error{part="capacity"}`:                      0,
			`berth_scrape_part_error{part="jobs"}`:                          0,
			`berth_scrape_part_error{part="integrity"}`:                     0,
			`berth_scrape_part_error{part="moves"}`:                         0,
			`berth_seats{state="active"}`:                                   8,
			`berth_integrity_truncated`:                                     0,
			`berth_pool_capacity{group="main",kind="team",pool="team-3"}`:   3,
			`berth_pools{group="",kind="server",status="active"}`:           1,
			// The forecast: both are full now; 4 users and 3 accounts were
			// placed in the last hour; the codes end in 30 days, past the horizon.
			`berth_capacity_full_in_seconds{group="main",kind="team"}`:         0,
			`berth_capacity_full_in_seconds{group="",kind="server"}`:           0,
			`berth_capacity_placement_rate_per_hour{group="main",kind="team"}`: 4,
			`berth_capacity_placement_rate_per_hour{group="",kind="server"}`:   3,
			`berth_capacity_releases_due{group="main",kind="team"}`:            0,
			`berth_capacity_pools_needed{group="",kind="server"}`:              168, // 3 an hour for a week, pools of 3
			`berth_scrape_part_error{part="forecast"}`:                         0,
		}
		for series, want := range exact {
			v, ok := got[series]
			if !ok {
				t.Errorf("no series %s", series)
			} else if v != want {
				t.Errorf("%s = %v, want %v", series, v, want)
			}
		}
		if age := got[`berth_queue_oldest_age_seconds{kind="server"}`]; age < 3600 || age > 3600+300 {
			t.Errorf("oldest server queue entry is %vs old, want about an hour", age)
		}
		if age, ok := got[`berth_jobs_oldest_available_age_seconds{kind="deliver"}`]; !ok || age < 0 {
			t.Errorf("oldest deliver job age %v (reported %v)", age, ok)
		}

		// Event counters: what this scenario added.
		delta := func(series string) float64 { return got[series] - before[series] }
		events := map[string]float64{
			`rebind_requests_total{free="true",status="success"}`:                           1,
			`rebind_requests_total{free="false",status="success"}`:                          0,
			`rebind_requests_total{free="false",status="limit"}`:                            3,
			`rebind_requests_total{free="false",status="rate_limited"}`:                     1,
			`rebind_requests_total{free="false",status="rejected"}`:                         1,
			`rebind_requests_total{free="false",status="failed"}`:                           0,
			`berth_redeem_requests_total{outcome="seated"}`:                                 4,
			`berth_redeem_requests_total{outcome="queued"}`:                                 1,
			`berth_redeem_requests_total{outcome="not_valid"}`:                              1,
			`berth_provider_requests_total{operation="put",outcome="ok",provider="sim"}`:    7,
			`berth_provider_request_duration_seconds_count{operation="put",provider="sim"}`: 7,
		}
		for series, want := range events {
			if _, ok := got[series]; !ok {
				t.Errorf("no series %s", series)
			} else if dv := delta(series); dv != want {
				t.Errorf("%s grew by %v, want %v", series, dv, want)
			}
		}
		// Placements: 3 accounts and 4 users placed, and at least the 4th
		// account, the late user and u0's move found no pool.
		if dv := delta(`berth_placement_decision_duration_seconds_count{kind="team",result="placed"}`); dv != 4 {
			t.Errorf("team placements timed %v, want 4", dv)
		}
		if dv := delta(`berth_placement_decision_duration_seconds_count{kind="team",result="none"}`); dv < 2 {
			t.Errorf("team decisions without a pool timed %v, want at least 2", dv)
		}
		if dv := delta(`berth_placement_decision_duration_seconds_count{kind="server",result="placed"}`); dv != 3 {
			t.Errorf("server placements timed %v, want 3", dv)
		}
		if t.Failed() {
			t.Logf("scrape:\n%s", body)
		}
	})
}

func mustExec(t *testing.T, st *store.Store, query string, args ...any) {
	t.Helper()
	if _, err := st.DB.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
