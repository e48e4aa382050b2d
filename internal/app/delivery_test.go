package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/sim"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

type histItem struct{ Action, Pool, From, To, Reason, Actor string }

func history(t *testing.T, h *apptest.Harness, query string) []histItem {
	t.Helper()
	var res struct{ Items []histItem }
	h.Do("GET", "/api/v1/history?"+query, nil).MustStatus(t, 200).JSON(t, &res)
	return res.Items
}

func actions(items []histItem) string {
	var out []string
	for i := len(items) - 1; i >= 0; i-- {
		out = append(out, items[i].Action)
	}
	return strings.Join(out, " ")
}

func account(t *testing.T, h *apptest.Harness, id string) (pool, state string) {
	t.Helper()
	var res struct {
		Items []struct{ Account, Pool, State string }
	}
	h.Do("GET", "/api/v1/accounts?limit=10000", nil).MustStatus(t, 200).JSON(t, &res)
	for _, a := range res.Items {
		if a.Account == id {
			return a.Pool, a.State
		}
	}
	t.Fatalf("account %s not listed", id)
	return "", ""
}

// A delivery that keeps failing re-places the account on another server,
// excluding the failing one, with each step in history.
func TestDeliveryKeepsFailingMovesAccount(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		fleet(h)
		h.Sims.New("worker-01", sim.Config{}).SetFailNext(100, provider.Retryable)
		items := h.Import("A", apptest.Files("acct", 1, 1))
		if items[0].Pool != "worker-01" {
			t.Fatalf("first choice %+v", items[0])
		}
		apptest.Eventually(t, 10*time.Second, "re-placement after 3 failed deliveries", func() bool {
			pool, state := account(t, h, "acct1")
			return pool == "los-angeles" && state == "active"
		})
		// The failed seat is cleaned up (a timed-out put may have landed)
		// while the new one is delivered; the two finish in either order.
		apptest.Eventually(t, 10*time.Second, "cleanup of the failed seat", func() bool {
			got := actions(history(t, h, "member=acct1"))
			return strings.HasPrefix(got, "placed delivery.failed placed") && strings.Contains(got, "delivered") && strings.Contains(got, "released")
		})
		if _, ok := h.Sims.Get("los-angeles").File("acct1.session"); !ok {
			t.Fatal("file not on los-angeles")
		}
		checkNoOverbooking(t, h)
	})
}

// A pool that refuses our credentials becomes credential_invalid; the
// account goes elsewhere at once.
func TestPoolPermanentFailureMarksPoolAndReplaces(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	fleet(h)
	h.Sims.New("worker-01", sim.Config{}).SetFailNext(1, provider.PoolPermanent)
	h.Import("A", apptest.Files("acct", 1, 1))
	apptest.Eventually(t, 10*time.Second, "re-placement", func() bool {
		pool, state := account(t, h, "acct1")
		return pool == "los-angeles" && state == "active"
	})
	var p struct {
		Status        string
		StatusMessage string `json:"status_message"`
	}
	h.Do("GET", "/api/v1/pools/1", nil).JSON(t, &p)
	if p.Status != "credential_invalid" || !strings.Contains(p.StatusMessage, "refused credentials") {
		t.Fatalf("worker-01 status %q (%q)", p.Status, p.StatusMessage)
	}
	if got := history(t, h, "pool=worker-01&action=pool.status"); len(got) != 1 || got[0].Actor != "provider" {
		t.Fatalf("status history %+v", got)
	}
}

// A member-level permanent failure rejects the account and gives the room back.
func TestMemberPermanentFailureRejects(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	h.Pool("worker-01", "server", 1, 0)
	h.Sims.New("worker-01", sim.Config{}).SetFailNext(1, provider.MemberPermanent)
	// One batch: bad1 takes the only seat and good1 queues, both before any
	// delivery runs (two requests raced the first delivery's failure).
	items := h.Import("A", append(apptest.Files("bad", 1, 1), apptest.Files("good", 1, 1)...))
	if items[0].Status != "placed" || items[1].Status != "queued" {
		t.Fatalf("with one seat: %+v, want bad1 placed and good1 queued", items)
	}
	apptest.Eventually(t, 10*time.Second, "queued account placed after the bad one failed", func() bool {
		_, state := account(t, h, "good1")
		return state == "active"
	})
	if _, state := account(t, h, "bad1"); state != "failed" {
		t.Fatalf("bad1 state %s", state)
	}
}

// The health monitor takes a server offline after K failed probes and back
// when it answers; it never overrides a status an admin set.
func TestHealthMonitor(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Jobs.ProbeInterval = 50 * time.Millisecond
		c.Jobs.ProbeThreshold = 3
	})
	ids := fleet(h)
	status := func(name string) string {
		var p struct{ Status string }
		h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", ids[name]), nil).JSON(t, &p)
		return p.Status
	}
	h.Sims.New("manila", sim.Config{}).SetDown(true)
	h.Sims.New("los-angeles", sim.Config{}).SetDown(true)
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids["los-angeles"]}, "status": "paused", "message": "admin"}).MustStatus(t, 200)
	apptest.Eventually(t, 10*time.Second, "manila offline", func() bool { return status("manila") == "offline" })
	offline := history(t, h, "pool=manila&action=health.offline")
	if len(offline) != 1 || offline[0].Actor != "monitor" || !strings.Contains(offline[0].Reason, "consecutive failed probes") {
		t.Fatalf("offline history %+v", offline)
	}
	h.Sims.Get("manila").SetDown(false)
	apptest.Eventually(t, 10*time.Second, "manila back", func() bool { return status("manila") == "active" })
	if status("los-angeles") != "paused" {
		t.Fatal("monitor overrode an admin's paused")
	}
	// An offline set by an admin stays, even when probes succeed.
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids["worker-01"]}, "status": "offline", "message": "admin says"}).MustStatus(t, 200)
	time.Sleep(300 * time.Millisecond)
	if status("worker-01") != "offline" {
		t.Fatal("monitor overrode an admin's offline")
	}
}

// Drain moves every account off a server, make before break.
func TestDrain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids := fleet(h)
		items := h.Import("A", apptest.Files("acct", 1, 5))
		waitDelivered(t, h, items)
		// The files land before the batch records them delivered (one
		// transaction for its successes): drain only once every seat is
		// active, or a move may start before "delivered" is written.
		apptest.Eventually(t, 10*time.Second, "every account active", func() bool {
			for i := 1; i <= 5; i++ {
				if _, state := account(t, h, fmt.Sprintf("acct%d", i)); state != "active" {
					return false
				}
			}
			return true
		})
		var res struct{ Moving, Queued int }
		h.Do("POST", fmt.Sprintf("/api/v1/pools/%d/drain", ids["worker-01"]), nil).MustStatus(t, 202).JSON(t, &res)
		if res.Moving != 5 {
			t.Fatalf("drain: %+v", res)
		}
		apptest.Eventually(t, 10*time.Second, "worker-01 empty", func() bool {
			var p struct{ Used int }
			h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", ids["worker-01"]), nil).JSON(t, &p)
			return p.Used == 0 && h.Sims.Get("worker-01").Len() == 0
		})
		for i := 1; i <= 5; i++ {
			id := fmt.Sprintf("acct%d", i)
			pool, state := account(t, h, id)
			if pool != "los-angeles" || state != "active" {
				t.Fatalf("%s on %s (%s)", id, pool, state)
			}
			if got := actions(history(t, h, "member="+id)); got != "placed delivered move.started delivered release.started moved released" {
				t.Fatalf("%s history: %s", id, got)
			}
		}
		checkNoOverbooking(t, h)
	})
}
