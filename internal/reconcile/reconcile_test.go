package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/sim"
	"github.com/berthhq/berth/internal/reconcile"
	"github.com/berthhq/berth/internal/store"
)

func TestReconcile(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	ctx := context.Background()
	st := h.App.Store
	h.Pool("team-1", "team", 10, 0)
	var codes struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 3}).MustStatus(t, 201).JSON(t, &codes)
	emails := []string{"a@example.com", "b@example.com", "c@example.com"}
	for i, e := range emails {
		h.DoAuth("POST", "/api/v1/public/redeem", map[string]string{"email": e, "code": codes.Codes[i]}, "").MustStatus(t, 200)
	}
	var team *sim.Sim
	apptest.Eventually(t, 10*time.Second, "3 provisioned", func() bool {
		team = sim.Get("team-1")
		return team != nil && team.Len() == 3
	})
	pool, _ := st.PoolGetByName(ctx, "team-1")

	r, err := reconcile.Run(ctx, st, reconcile.OpenProvider(st), h.App.Alloc, pool, reconcile.Options{})
	if err != nil || !r.Clean() {
		t.Fatalf("clean team: %+v %v", r, err)
	}
	// Drift: someone removed b at the provider, and added two strangers.
	team.Remove(ctx, provider.Member{ID: "b@example.com"})
	team.Put(ctx, provider.Member{ID: "x@example.com"})
	team.Put(ctx, provider.Member{ID: "y@example.com"})
	r, err = reconcile.Run(ctx, st, reconcile.OpenProvider(st), h.App.Alloc, pool, reconcile.Options{Repair: true, RemoveUnknown: true, MaxRemoveShare: 0.1})
	if err != nil || len(r.Missing) != 1 || r.Missing[0] != "b@example.com" || len(r.Unknown) != 2 || r.Repaired != 1 {
		t.Fatalf("drift: %+v %v", r, err)
	}
	// The guard: 2 unknown > 10% of 10 → nothing removed.
	if r.Removed != 0 || r.RemoveError == "" || !team.Has("x@example.com") {
		t.Fatalf("guard: %+v", r)
	}
	apptest.Eventually(t, 10*time.Second, "b re-provisioned", func() bool { return team.Has("b@example.com") })
	r, _ = reconcile.Run(ctx, st, reconcile.OpenProvider(st), h.App.Alloc, pool, reconcile.Options{RemoveUnknown: true, MaxRemoveShare: 0.5})
	if r.Removed != 2 || team.Has("x@example.com") || len(r.Missing) != 0 {
		t.Fatalf("removal within the guard: %+v", r)
	}
	// Unhealthy teams are skipped.
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{pool.ID}, "status": "banned"}).MustStatus(t, 200)
	pool, _ = st.PoolGetByName(ctx, "team-1")
	if r, _ := reconcile.Run(ctx, st, reconcile.OpenProvider(st), h.App.Alloc, pool, reconcile.Options{}); r.Skipped == "" {
		t.Fatalf("banned team compared: %+v", r)
	}
}
