package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// fleet creates the origin report's three servers, capacity 5 each, in
// operator order worker-01, los-angeles, manila.
func fleet(h *apptest.Harness) map[string]int64 {
	ids := map[string]int64{}
	for i, name := range []string{"worker-01", "los-angeles", "manila"} {
		ids[name] = h.Pool(name, "server", 5, i)
	}
	return ids
}

func pools(items []apptest.BatchItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Pool
		if it.Status != "placed" {
			out[i] = it.Status
		}
	}
	return out
}

func want(parts ...any) []string {
	var out []string
	for i := 0; i < len(parts); i += 2 {
		for range parts[i+1].(int) {
			out = append(out, parts[i].(string))
		}
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// waitDelivered waits until every placed account's file is in its sim pool.
func waitDelivered(t *testing.T, h *apptest.Harness, items []apptest.BatchItem) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, "delivery of every placed file", func() bool {
		for _, it := range items {
			if it.Status != "placed" {
				continue
			}
			p := h.Sims.Get(it.Pool)
			if p == nil {
				return false
			}
			if _, ok := p.File(it.Account + ".session"); !ok {
				return false
			}
		}
		return true
	})
}

// Scenario 1: a new script, all servers active and empty: accounts 1-5 fill
// the first server, account 6 goes to the next.
func TestScenario1_NewScriptFillsOneServerFirst(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		fleet(h)
		items := h.Import("A", apptest.Files("acct", 1, 6))
		if got := pools(items); !equal(got, want("worker-01", 5, "los-angeles", 1)) {
			t.Fatalf("placement %v", got)
		}
		if !strings.Contains(items[5].Reason, "los-angeles") {
			t.Errorf("reason does not explain the winner: %q", items[5].Reason)
		}
		waitDelivered(t, h, items)
		// The history explains each placement. The file lands before the
		// "delivered" row is written: wait for it.
		apptest.Eventually(t, 10*time.Second, "history of acct6", func() bool {
			return actions(history(t, h, "member=acct6")) == "placed delivered"
		})
	})
}

// Scenario 2: the script already runs on worker-01 and los-angeles; those
// fill (the fuller first) before manila is used.
func TestScenario2_ServersHoldingTheScriptFillFirst(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		// Set up: script A on worker-01 (2) and los-angeles (1), by pausing
		// servers while importing.
		h2 := apptest.Start(t, d)
		ids := fleet(h2)
		setStatus := func(status string, names ...string) {
			var list []int64
			for _, n := range names {
				list = append(list, ids[n])
			}
			h2.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": list, "status": status}).MustStatus(t, 200)
		}
		setStatus("paused", "los-angeles", "manila")
		h2.Import("A", apptest.Files("a", 1, 2)) // worker-01: 2 of A
		setStatus("active", "los-angeles")
		setStatus("paused", "worker-01")
		h2.Import("A", apptest.Files("a", 3, 1)) // los-angeles: 1 of A
		setStatus("active", "worker-01", "manila")
		items := h2.Import("A", apptest.Files("a", 4, 8))
		if got := pools(items); !equal(got, want("worker-01", 3, "los-angeles", 4, "manila", 1)) {
			t.Fatalf("placement %v", got)
		}
	})
}

// Scenario 3: a stopped server is skipped.
func TestScenario3_StoppedServerIsSkipped(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids := fleet(h)
		// "inactive", the origin's word, means paused.
		var res struct {
			SuccessCount int `json:"success_count"`
		}
		h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids["worker-01"]}, "status": "inactive", "message": "maintenance"}).
			MustStatus(t, 200).JSON(t, &res)
		if res.SuccessCount != 1 {
			t.Fatalf("status change: %+v", res)
		}
		items := h.Import("A", apptest.Files("acct", 1, 5))
		if got := pools(items); !equal(got, want("los-angeles", 5)) {
			t.Fatalf("placement %v", got)
		}
		if !strings.Contains(items[0].Reason, "1 paused") {
			t.Errorf("reason does not mention the paused server: %q", items[0].Reason)
		}
	})
}

// All servers full: accounts are queued with the explanation; raising a
// capacity drains the queue in order.
func TestFullFleetQueuesThenCapacityRaiseDrains(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids := fleet(h)
		h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids["manila"]}, "status": "offline"}).MustStatus(t, 200)
		items := h.Import("A", apptest.Files("acct", 1, 13))
		got := pools(items)
		if !equal(got, want("worker-01", 5, "los-angeles", 5, "queued", 3)) {
			t.Fatalf("placement %v", got)
		}
		for i, it := range items[10:] {
			if it.Reason != "3 pools: 1 offline, 2 full" || it.Position != i+1 {
				t.Fatalf("queued item %d: %+v", i, it)
			}
		}
		seven := 7
		h.Do("PATCH", fmt.Sprintf("/api/v1/pools/%d", ids["los-angeles"]), map[string]any{"capacity": seven}).MustStatus(t, 200)
		apptest.Eventually(t, 10*time.Second, "queue drain after capacity raise", func() bool {
			var acc struct {
				Items []struct{ Account, Pool, State string }
			}
			h.Do("GET", "/api/v1/accounts?pool=los-angeles", nil).MustStatus(t, 200).JSON(t, &acc)
			return len(acc.Items) == 7
		})
		var q struct{ Items []struct{ Member string } }
		h.Do("GET", "/api/v1/queue?kind=server", nil).MustStatus(t, 200).JSON(t, &q)
		if len(q.Items) != 1 || q.Items[0].Member != "acct13" {
			t.Fatalf("queue after drain (FIFO): %+v", q.Items)
		}
		// Lowering capacity below use is refused and changes nothing.
		r := h.Do("PATCH", fmt.Sprintf("/api/v1/pools/%d", ids["los-angeles"]), map[string]any{"capacity": 3})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "holds 7") {
			t.Fatalf("lowering capacity: %d %s", r.Status, r.Body)
		}
	})
}
