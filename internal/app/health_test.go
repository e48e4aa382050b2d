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

// A provider that degrades step by step: its deliveries fail more at each
// step while its probes still answer. The pool's health score falls at
// every step (pool API, /metrics), and once it is degraded new placements
// go to the healthy pool although the degraded one holds the script and
// has more room, and while the monitor still has it active; when it goes
// down for good the monitor marks it offline.
func TestHealthDegradesBeforeOffline(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d, func(c *app.Config) {
			c.Jobs.ProbeInterval = 50 * time.Millisecond
			c.Jobs.ProbeThreshold = 3
		})
		flaky := h.Pool("flaky", "server", 100, 0)
		h.Pool("steady", "server", 50, 1)
		fs := h.Sims.New("flaky", sim.Config{})
		h.Sims.New("steady", sim.Config{})

		type poolHealth struct {
			Status string
			Health struct {
				Score    float64
				Degraded bool
				Reasons  []string
			}
		}
		pool := func() poolHealth {
			var p poolHealth
			h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", flaky), nil).MustStatus(t, 200).JSON(t, &p)
			return p
		}
		type item struct {
			Status, Pool, Reason string
			Why                  struct{ Degraded int }
		}
		place := func(n int) item {
			t.Helper()
			var res struct{ Items []item }
			h.ImportRaw(map[string]string{"script": "A"}, apptest.Files("acct", n, 1)).MustStatus(t, 200).JSON(t, &res)
			id := fmt.Sprintf("acct%d", n)
			apptest.Eventually(t, 10*time.Second, id+" delivered", func() bool {
				_, state := account(t, h, id)
				return state == "active"
			})
			return res.Items[0]
		}

		// Each step: the next deliveries to flaky fail this many times before
		// one succeeds (fewer than the 3 attempts of a delivery).
		prev := 1.0
		for step, fails := range []int{0, 1, 2} {
			fs.SetFailNext(fails, provider.Retryable)
			it := place(step + 1)
			if it.Pool != "flaky" {
				t.Fatalf("step %d: placed on %q (%s), want flaky while it is healthy", step, it.Pool, it.Reason)
			}
			p := pool()
			if p.Status != "active" {
				t.Fatalf("step %d: flaky is %s; the monitor's probes still answer", step, p.Status)
			}
			if step > 0 && p.Health.Score >= prev {
				t.Fatalf("step %d (%d failures): score %v, want below %v", step, fails, p.Health.Score, prev)
			}
			if step > 0 && (len(p.Health.Reasons) == 0 || !strings.Contains(p.Health.Reasons[0], "provider calls failed")) {
				t.Fatalf("step %d: reasons %q", step, p.Health.Reasons)
			}
			t.Logf("step %d: %d forced failures, health %+v", step, fails, p.Health)
			prev = p.Health.Score
		}
		p := pool()
		if !p.Health.Degraded || p.Status != "active" {
			t.Fatalf("after the steps: %+v, want degraded and still active", p)
		}

		// Degraded: new members of script A go to steady, and say why.
		it := place(4)
		if it.Pool != "steady" || it.Why.Degraded != 1 || !strings.Contains(it.Reason, "1 down-ranked for health") {
			t.Fatalf("degraded flaky: placed %+v, want steady with 1 pool down-ranked", it)
		}
		if p := pool(); p.Status != "active" {
			t.Fatalf("flaky is %s before it went down", p.Status)
		}
		body := string(h.DoAuth("GET", "/metrics", nil, "").MustStatus(t, 200).Body)
		want := fmt.Sprintf(`berth_pool_health_score{kind="server",pool="flaky"} %v`, p.Health.Score)
		if !strings.Contains(body, want) || !strings.Contains(body, `berth_pool_health_score{kind="server",pool="steady"} 1`) {
			t.Fatalf("metrics lack %s and steady's 1", want)
		}

		// Down for good: the probes fail and the monitor takes it offline.
		fs.SetDown(true)
		apptest.Eventually(t, 10*time.Second, "flaky offline", func() bool { return pool().Status == "offline" })
		if p := pool(); p.Health.Score >= prev || !p.Health.Degraded {
			t.Fatalf("failed probes did not lower the score: %+v", p.Health)
		}
	})
}
