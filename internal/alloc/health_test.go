package alloc_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/health"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// twoServerPools creates two simulated server pools on st (capacity and
// priority as listed, first first) and returns the service, their ids by
// name, and a function that imports one account with a script of its own.
func twoServerPools(t *testing.T, st *store.Store, names [2]string, caps [2]int) (*alloc.Service, map[string]int64, func(id string) alloc.Outcome) {
	t.Helper()
	ctx := context.Background()
	svc := alloc.New(st, storetest.NoJobs{}, nil)
	admin := pooladmin.New(svc.Store(), svc)
	ids := map[string]int64{}
	for i := range names {
		prio, capacity := i, caps[i]
		pool, err := admin.Create(ctx, pooladmin.Input{Name: names[i], Kind: model.KindServer, Capacity: &capacity, Priority: &prio, Provider: []byte(`{"type":"sim"}`)}, "t")
		if err != nil {
			t.Fatal(err)
		}
		ids[names[i]] = pool.ID
	}
	place := func(id string) alloc.Outcome {
		t.Helper()
		out, err := svc.ImportAccounts(ctx, alloc.ImportParams{Script: "S-" + id, Files: []alloc.AccountFile{{ID: id, FileName: id + ".session", Data: []byte("x")}}})
		if err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	return svc, ids, place
}

// Recorded outcomes reach the placement index before the next decision,
// and an index built afresh (Invalidate, a refresh) starts from the book.
func TestHealthReachesIndex(t *testing.T) {
	svc, ids, place := twoServerPools(t, storetest.Open(t, store.SQLite), [2]string{"roomy", "small"}, [2]int{10, 5})
	// Each account has a script of its own: the most free room wins.
	if o := place("x1"); o.Pool != "roomy" {
		t.Fatalf("healthy: %+v", o)
	}
	for range 2 {
		svc.RecordOutcome(ids["roomy"], health.Outcome{At: time.Now(), Failed: true})
	}
	if r := svc.PoolHealth(ids["roomy"]); !r.Degraded {
		t.Fatalf("two failures: %+v", r)
	}
	o := place("x2")
	if o.Pool != "small" || o.Why == nil || o.Why.Degraded != 1 {
		t.Fatalf("roomy degraded: %+v (why %+v)", o, o.Why)
	}
	svc.Invalidate()
	if o := place("x3"); o.Pool != "small" {
		t.Fatalf("after a rebuild: %+v", o)
	}
	if all := svc.PoolHealths(); len(all) != 1 || !all[ids["roomy"]].Degraded {
		t.Fatalf("PoolHealths = %+v", all)
	}
	// A stricter threshold would not have called it degraded at 0.6.
	svc.SetHealthConfig(health.Config{Threshold: 0.5})
	for range 2 {
		svc.RecordOutcome(ids["roomy"], health.Outcome{At: time.Now(), Failed: true})
	}
	if r := svc.PoolHealth(ids["roomy"]); r.Degraded || r.Score != 0.6 {
		t.Fatalf("threshold 0.5, two failures: %+v", r)
	}
	if o := place("x4"); o.Pool != "roomy" {
		t.Fatalf("roomy healthy again under threshold 0.5: %+v", o)
	}
}

// A deleted pool leaves the health book and the placement index when the
// runtime is told (PoolChanged finds it gone): its report is healthy
// again and PoolHealths (so /metrics) no longer lists it.
func TestDeletedPoolForgotten(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := storetest.Open(t, d)
		svc, ids, place := twoServerPools(t, st, [2]string{"gone", "kept"}, [2]int{10, 1})
		for range 2 {
			svc.RecordOutcome(ids["gone"], health.Outcome{At: time.Now(), Failed: true})
		}
		svc.RecordOutcome(ids["kept"], health.Outcome{At: time.Now(), Failed: true})
		// "gone" is degraded: the healthy "kept" takes the first member
		// (and the index is built with both).
		if o := place("x1"); o.Pool != "kept" {
			t.Fatalf("first: %+v", o)
		}
		if all := svc.PoolHealths(); len(all) != 2 || !all[ids["gone"]].Degraded {
			t.Fatalf("before the delete: %+v", all)
		}
		if _, err := st.DB.ExecContext(ctx, `DELETE FROM pools WHERE id = $1`, ids["gone"]); err != nil {
			t.Fatal(err)
		}
		svc.PoolChanged(ctx, ids["gone"])
		all := svc.PoolHealths()
		if _, ok := all[ids["gone"]]; ok || len(all) != 1 || all[ids["kept"]].Score != 0.75 {
			t.Fatalf("after the delete: %+v", all)
		}
		if r := svc.PoolHealth(ids["gone"]); r.Score != 1 || r.Degraded {
			t.Fatalf("deleted pool's report: %+v", r)
		}
		// "kept" is full and "gone" is no longer in the index: queued, one
		// pool considered (with "gone" still there: "2 pools: 2 full").
		if o := place("x2"); o.Status != alloc.OutcomeQueued || o.Pool != "" || o.Reason != "1 pool: 1 full" {
			t.Fatalf("after the delete, kept full: %+v", o)
		}
	})
}
