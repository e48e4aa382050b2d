package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/sim"
	"github.com/berthhq/berth/internal/reconcile"
	"github.com/berthhq/berth/internal/store"
)

// run is GET /api/v1/pools/{id}/reconcile/{run}.
type run struct {
	Run    int64
	PoolID int64 `json:"pool_id"`
	State  model.ReconcileState
	Error  string
	Actor  string
	Report *reconcile.Report
}

// start asks for a run (POST) and checks the answer: 202, the run's id,
// and where its report is, in the body and the Location header.
func start(t *testing.T, h *apptest.Harness, poolID int64, body any) string {
	t.Helper()
	resp := h.Do("POST", fmt.Sprintf("/api/v1/pools/%d/reconcile", poolID), body).MustStatus(t, 202)
	var started struct {
		Run    int64
		State  model.ReconcileState
		Report string
	}
	resp.JSON(t, &started)
	want := fmt.Sprintf("/api/v1/pools/%d/reconcile/%d", poolID, started.Run)
	if started.Run <= 0 || started.Report != want || resp.Header.Get("Location") != want || started.State != model.ReconcileQueued {
		t.Fatalf("POST reconcile answered %+v, Location %q; want the run's report at %s", started, resp.Header.Get("Location"), want)
	}
	return want
}

// wait reads the run at path until its job has ended it.
func wait(t *testing.T, h *apptest.Harness, path string) run {
	t.Helper()
	var r run
	apptest.Eventually(t, 15*time.Second, "reconcile run "+path+" ended", func() bool {
		r = run{}
		h.Do("GET", path, nil).MustStatus(t, 200).JSON(t, &r)
		return r.State == model.ReconcileDone || r.State == model.ReconcileFailed
	})
	return r
}

// reconcileNow runs a reconcile through the API and waits for its report.
func reconcileNow(t *testing.T, h *apptest.Harness, poolID int64, body any) reconcile.Report {
	t.Helper()
	r := wait(t, h, start(t, h, poolID, body))
	if r.State != model.ReconcileDone || r.Report == nil {
		t.Fatalf("run %+v", r)
	}
	return *r.Report
}

func TestReconcile(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	ctx := context.Background()
	poolID := h.Pool("team-1", "team", 10, 0)
	var codes struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 3}).MustStatus(t, 201).JSON(t, &codes)
	emails := []string{"a@example.com", "b@example.com", "c@example.com"}
	for i, e := range emails {
		h.DoAuth("POST", "/api/v1/public/redeem", map[string]string{"email": e, "code": codes.Codes[i]}, "").MustStatus(t, 200)
	}
	var team *sim.Sim
	apptest.Eventually(t, 10*time.Second, "3 provisioned", func() bool {
		team = h.Sims.Get("team-1")
		return team != nil && team.Len() == 3
	})

	if r := reconcileNow(t, h, poolID, nil); !r.Clean() || r.Pool != "team-1" {
		t.Fatalf("clean team: %+v", r)
	}
	// Drift: someone removed b at the provider, and added two strangers.
	team.Remove(ctx, provider.Member{ID: "b@example.com"})
	team.Put(ctx, provider.Member{ID: "x@example.com"})
	team.Put(ctx, provider.Member{ID: "y@example.com"})
	r := reconcileNow(t, h, poolID, map[string]any{"repair": true, "remove_unknown": true, "max_remove_share": 0.1})
	if len(r.Missing) != 1 || r.Missing[0] != "b@example.com" || len(r.Unknown) != 2 || r.Repaired != 1 {
		t.Fatalf("drift: %+v", r)
	}
	// The guard: 2 unknown > 10% of 10 → nothing removed.
	if r.Removed != 0 || r.RemoveError == "" || !team.Has("x@example.com") {
		t.Fatalf("guard: %+v", r)
	}
	apptest.Eventually(t, 10*time.Second, "b re-provisioned", func() bool { return team.Has("b@example.com") })
	r = reconcileNow(t, h, poolID, map[string]any{"remove_unknown": true, "max_remove_share": 0.5})
	if r.Removed != 2 || team.Has("x@example.com") || len(r.Missing) != 0 {
		t.Fatalf("removal within the guard: %+v", r)
	}
	// Unhealthy teams are skipped.
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{poolID}, "status": "banned"}).MustStatus(t, 200)
	if r := reconcileNow(t, h, poolID, nil); r.Skipped == "" {
		t.Fatalf("banned team compared: %+v", r)
	}
	// A run is read under its own pool only.
	other := h.Pool("team-2", "team", 10, 0)
	path := start(t, h, other, nil)
	wait(t, h, path)
	var runID int64
	fmt.Sscanf(path, fmt.Sprintf("/api/v1/pools/%d/reconcile/%%d", other), &runID)
	h.Do("GET", fmt.Sprintf("/api/v1/pools/%d/reconcile/%d", poolID, runID), nil).MustStatus(t, 404)
	h.Do("GET", fmt.Sprintf("/api/v1/pools/%d/reconcile/%d", poolID, runID+1000), nil).MustStatus(t, 404)
	h.Do("GET", fmt.Sprintf("/api/v1/pools/%d/reconcile/x", poolID), nil).MustStatus(t, 400)
}

// TestReconcileRunsAsJob: the request never calls the provider. With a
// team whose provider takes 3 s a call, POST answers 202 sooner than one
// call could take and the run is still unfinished; its job makes the List,
// which the provider metrics count like a delivery's calls.
func TestReconcileRunsAsJob(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	var p struct{ ID int64 }
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "slow-team", "kind": "team", "capacity": 10,
		"provider": map[string]any{"type": "sim", "latency_ms": 3000}}).MustStatus(t, 201).JSON(t, &p)
	lists := providerCalls(t, "list")

	began := time.Now()
	path := start(t, h, p.ID, map[string]any{"repair": true})
	if took := time.Since(began); took >= 3*time.Second {
		t.Fatalf("POST reconcile took %s: the request waited for the provider", took)
	}
	var r run
	h.Do("GET", path, nil).MustStatus(t, 200).JSON(t, &r)
	if r.State == model.ReconcileDone || r.State == model.ReconcileFailed || r.Report != nil {
		t.Fatalf("the run ended before its provider could answer: %+v", r)
	}
	if r.PoolID != p.ID || r.Actor == "" {
		t.Fatalf("run %+v", r)
	}
	r = wait(t, h, path)
	if r.State != model.ReconcileDone || r.Report == nil || !r.Report.Clean() {
		t.Fatalf("run %+v", r)
	}
	if took := time.Since(began); took < 3*time.Second {
		t.Fatalf("the run ended after %s, before the provider's 3 s List", took)
	}
	if got := providerCalls(t, "list") - lists; got != 1 {
		t.Fatalf("provider metrics counted %v sim lists for the run, want 1", got)
	}
}

// providerCalls sums berth_provider_requests_total for the sim provider's
// operation op.
func providerCalls(t *testing.T, op string) float64 {
	t.Helper()
	mfs, err := metrics.Events.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "berth_provider_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["provider"] == "sim" && labels["operation"] == op {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// TestReconcileSkipsWebhookTeams: a webhook receiver cannot be listed
// (provider.ErrCannotList); the run ends done, saying the team was skipped.
func TestReconcileSkipsWebhookTeams(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	var p struct{ ID int64 }
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "hook-team", "kind": "team", "capacity": 10,
		"provider": map[string]any{"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef0123456789abcdef"}}).MustStatus(t, 201).JSON(t, &p)
	r := reconcileNow(t, h, p.ID, nil)
	if !strings.Contains(r.Skipped, "cannot list") || !r.Clean() {
		t.Fatalf("webhook team: %+v", r)
	}
}
