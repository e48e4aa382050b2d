package pooladmin_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// drains is an alloc.Enqueuer that enqueues nothing and counts the queue
// drains asked for, per kind.
type drains struct {
	mu sync.Mutex
	n  map[model.Kind]int
}

func (*drains) Deliver(context.Context, *store.Tx, int64) error       { return nil }
func (*drains) DeliverMany(context.Context, *store.Tx, []int64) error { return nil }
func (*drains) Remove(context.Context, *store.Tx, int64) error        { return nil }
func (d *drains) DrainQueue(_ context.Context, _ *store.Tx, k model.Kind) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n[k]++
	return nil
}

func (d *drains) count(k model.Kind) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[k]
}

type fixture struct {
	st     *store.Store
	rt     *alloc.Service
	admin  *pooladmin.Service
	drains *drains
}

func open(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	st := storetest.Open(t, d)
	dr := &drains{n: map[model.Kind]int{}}
	rt := alloc.New(st, dr, nil)
	return &fixture{st: st, rt: rt, admin: pooladmin.New(st, rt), drains: dr}
}

func (f *fixture) pool(t *testing.T, name string, kind model.Kind, capacity int) model.Pool {
	t.Helper()
	p, err := f.admin.Create(context.Background(), pooladmin.Input{Name: name, Kind: kind, Capacity: &capacity,
		Provider: []byte(`{"type":"sim"}`)}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// history returns the pool's history actions, oldest first.
func (f *fixture) history(t *testing.T, pool string) []model.HistoryEntry {
	t.Helper()
	h, err := f.st.HistoryList(context.Background(), store.HistoryFilter{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return h
}

func intp(n int) *int { return &n }

// import1 imports one server account and returns its outcome.
func (f *fixture) import1(t *testing.T, id string) alloc.Outcome {
	t.Helper()
	out, err := f.rt.ImportAccounts(context.Background(), alloc.ImportParams{Script: "A",
		Files: []alloc.AccountFile{{ID: id, FileName: id + ".session", Data: []byte("x")}}})
	if err != nil || len(out) != 1 {
		t.Fatalf("import %s: %v %v", id, out, err)
	}
	return out[0]
}

// Every malformed pool is refused as invalid (the front ends answer 422)
// and nothing is written; a good one is created with its history row, its
// kind's queue is drained, and the runtime places on it at once.
func TestCreateValidatesAndTellsTheRuntime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := open(t, d)
		sim := []byte(`{"type":"sim"}`)
		bad := map[string]pooladmin.Input{
			"empty name":         {Name: "", Kind: model.KindServer, Capacity: intp(1), Provider: sim},
			"name with a slash":  {Name: "a/b", Kind: model.KindServer, Capacity: intp(1), Provider: sim},
			"name too long":      {Name: strings.Repeat("a", 65), Kind: model.KindServer, Capacity: intp(1), Provider: sim},
			"unknown kind":       {Name: "a", Kind: "rack", Capacity: intp(1), Provider: sim},
			"no capacity":        {Name: "a", Kind: model.KindServer, Provider: sim},
			"negative capacity":  {Name: "a", Kind: model.KindServer, Capacity: intp(-1), Provider: sim},
			"capacity too large": {Name: "a", Kind: model.KindServer, Capacity: intp(pooladmin.MaxCapacity + 1), Provider: sim},
			"empty label key":    {Name: "a", Kind: model.KindServer, Capacity: intp(1), Labels: map[string]string{"": "x"}, Provider: sim},
			"long label value":   {Name: "a", Kind: model.KindServer, Capacity: intp(1), Labels: map[string]string{"k": strings.Repeat("v", 256)}, Provider: sim},
			"no provider":        {Name: "a", Kind: model.KindServer, Capacity: intp(1)},
			"unknown provider":   {Name: "a", Kind: model.KindServer, Capacity: intp(1), Provider: []byte(`{"type":"carrier-pigeon"}`)},
		}
		for what, in := range bad {
			if _, err := f.admin.Create(ctx, in, "admin"); alloc.KindOf(err) != alloc.KindInvalid {
				t.Errorf("%s: %v (kind %v), want an invalid request", what, err, alloc.KindOf(err))
			}
		}
		if pools, err := f.st.PoolList(ctx, ""); err != nil || len(pools) != 0 {
			t.Fatalf("refused pools left %d rows (%v)", len(pools), err)
		}
		if n := f.drains.count(model.KindServer); n != 0 {
			t.Fatalf("refused pools drained the queue %d times", n)
		}

		// Before any pool exists the member waits, with the reason.
		first := f.import1(t, "a1")
		if first.Status != alloc.OutcomeQueued {
			t.Fatalf("with no pool: %+v, want queued", first)
		}
		p := f.pool(t, "srv-1", model.KindServer, 2)
		if p.Status != model.StatusActive || p.Capacity != 2 || p.ProviderType != "sim" {
			t.Fatalf("created %+v", p)
		}
		// Two asks while a1 waits: one in the pool's transaction, one once
		// the index has the pool (alloc's drainIfWaiting: a drain that ran
		// in between would not have seen it).
		if n := f.drains.count(model.KindServer); n != 2 {
			t.Fatalf("creating a server pool drained the server queue %d times, want 2", n)
		}
		if h := f.history(t, "srv-1"); len(h) != 1 || h[0].Action != model.ActPoolCreated || h[0].Actor != "admin" ||
			!strings.Contains(h[0].Reason, "capacity 2, provider sim") {
			t.Fatalf("history %+v, want one pool.created row by admin", h)
		}
		if o := f.import1(t, "a2"); o.Status != alloc.OutcomePlaced || o.Pool != "srv-1" {
			t.Fatalf("after the pool was created: %+v, want placed on srv-1", o)
		}
		if _, err := f.admin.Create(ctx, pooladmin.Input{Name: "srv-1", Kind: model.KindServer, Capacity: intp(1), Provider: sim}, "admin"); alloc.KindOf(err) != alloc.KindConflict {
			t.Fatalf("a second pool named srv-1: %v, want a conflict", err)
		}
	})
}

// Capacity below the seats in use is refused with what to do; raising it
// drains the queue and lowering it does not; each change is a history row
// saying before and after, and the runtime sees the new capacity at once.
func TestUpdateCapacity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := open(t, d)
		p := f.pool(t, "srv-1", model.KindServer, 2)
		for _, id := range []string{"a1", "a2"} {
			if o := f.import1(t, id); o.Status != alloc.OutcomePlaced {
				t.Fatalf("%s: %+v", id, o)
			}
		}
		if o := f.import1(t, "a3"); o.Status != alloc.OutcomeQueued || !strings.Contains(o.Reason, "full") {
			t.Fatalf("third member on a full pool: %+v, want queued saying full", o)
		}
		drained := f.drains.count(model.KindServer)
		got, err := f.admin.Update(ctx, p.ID, pooladmin.Patch{Capacity: intp(1)}, "admin")
		if alloc.KindOf(err) != alloc.KindInvalid || !strings.Contains(err.Error(), "move or release members first") {
			t.Fatalf("capacity 1 under 2 seats: %v, want invalid saying what to do", err)
		}
		if got.Capacity != 2 {
			t.Fatalf("refused update returned capacity %d, want the pool as it was (2)", got.Capacity)
		}
		for _, bad := range []pooladmin.Patch{{Capacity: intp(-5)}, {Labels: map[string]string{"": "x"}}, {Provider: []byte(`{"type":"nope"}`)}} {
			if _, err := f.admin.Update(ctx, p.ID, bad, "admin"); alloc.KindOf(err) != alloc.KindInvalid {
				t.Errorf("update %+v: %v, want invalid", bad, err)
			}
		}
		if _, err := f.admin.Update(ctx, 9999, pooladmin.Patch{Capacity: intp(3)}, "admin"); alloc.KindOf(err) != alloc.KindNotFound {
			t.Fatalf("update of a missing pool: %v, want not found", err)
		}
		if got, err = f.admin.Update(ctx, p.ID, pooladmin.Patch{Capacity: intp(4), Priority: intp(7)}, "admin"); err != nil || got.Capacity != 4 || got.Priority != 7 {
			t.Fatalf("raise: %+v %v", got, err)
		}
		if n := f.drains.count(model.KindServer); n != drained+2 {
			t.Fatalf("raising capacity drained %d times, want 2 (in the transaction, and once the index has the room)", n-drained)
		}
		h := f.history(t, "srv-1")
		if last := h[len(h)-1]; last.Action != model.ActPoolUpdated || !strings.Contains(last.Reason, "capacity 2→4, priority 0→7") {
			t.Fatalf("last history %+v, want pool.updated capacity 2→4", last)
		}
		// The runtime's index saw the new room: a drain places the waiting member.
		if n, err := f.rt.DrainQueue(ctx, model.KindServer); err != nil || n != 1 {
			t.Fatalf("drain after raising capacity placed %d (%v), want 1", n, err)
		}
		if _, err := f.admin.Update(ctx, p.ID, pooladmin.Patch{Capacity: intp(3)}, "admin"); err != nil {
			t.Fatal(err)
		}
		if n := f.drains.count(model.KindServer); n != drained+2 {
			t.Fatalf("lowering capacity drained the queue")
		}
	})
}

// A bulk status change answers per id (unknown, duplicate, bad status),
// writes a pool.status row from → to with the message and actor, keeps
// placement off a paused pool, and drains the queue when a pool comes back.
func TestSetStatusBulk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := open(t, d)
		a := f.pool(t, "srv-a", model.KindServer, 5)
		b := f.pool(t, "srv-b", model.KindServer, 5)
		if _, err := f.admin.SetStatus(ctx, []int64{a.ID}, string(model.StatusPaused), strings.Repeat("x", 501), "admin"); alloc.KindOf(err) != alloc.KindInvalid {
			t.Fatalf("a 501-byte message: %v, want invalid", err)
		}
		res, err := f.admin.SetStatus(ctx, []int64{a.ID, 9999, a.ID, b.ID}, string(model.StatusPaused), "maintenance", "ops")
		if err != nil {
			t.Fatal(err)
		}
		if res.SuccessCount != 2 || res.FailedCount != 2 || res.Failed[0] != (pooladmin.BulkFailure{ID: 9999, Error: "pool not found"}) ||
			res.Failed[1] != (pooladmin.BulkFailure{ID: a.ID, Error: "duplicate id in request"}) {
			t.Fatalf("bulk pause: %+v", res)
		}
		res, err = f.admin.SetStatus(ctx, []int64{a.ID, b.ID}, "sleeping", "", "ops")
		if err != nil || res.SuccessCount != 0 || res.FailedCount != 2 {
			t.Fatalf("unknown status: %+v %v, want both ids failed", res, err)
		}
		for _, p := range []model.Pool{a, b} {
			got, err := f.st.PoolGet(ctx, p.ID)
			if err != nil || got.Status != model.StatusPaused || got.StatusActor != "ops" || got.StatusMessage != "maintenance" {
				t.Fatalf("%s after the pause: %+v %v", p.Name, got, err)
			}
			h := f.history(t, p.Name)
			if last := h[len(h)-1]; last.Action != model.ActPoolStatus || last.From != string(model.StatusActive) ||
				last.To != string(model.StatusPaused) || last.Reason != "maintenance" || last.Actor != "ops" {
				t.Fatalf("%s history %+v, want pool.status active→paused", p.Name, last)
			}
		}
		if o := f.import1(t, "a1"); o.Status != alloc.OutcomeQueued || !strings.Contains(o.Reason, "2 paused") {
			t.Fatalf("with both pools paused: %+v, want queued saying 2 paused", o)
		}
		drained := f.drains.count(model.KindServer)
		if res, err := f.admin.SetStatus(ctx, []int64{b.ID}, string(model.StatusActive), "done", "ops"); err != nil || res.SuccessCount != 1 {
			t.Fatalf("resume: %+v %v", res, err)
		}
		if n := f.drains.count(model.KindServer); n != drained+2 {
			t.Fatalf("resuming a pool drained the queue %d times, want 2 (in the transaction, and once the index has the room)", n-drained)
		}
		if n, err := f.rt.DrainQueue(ctx, model.KindServer); err != nil || n != 1 {
			t.Fatalf("drain after the resume placed %d (%v), want 1", n, err)
		}
		seat, err := f.st.SeatList(ctx, store.SeatFilter{PoolID: b.ID})
		if err != nil || len(seat) != 1 {
			t.Fatalf("seats on the resumed pool: %v %v, want 1", seat, err)
		}
	})
}

// errProbe is a probe failure that may be retried.
var errProbe = errors.New("connection refused")

// probe runs one probe round with check and returns the results by pool.
func (f *fixture) probe(t *testing.T, threshold int, check func(context.Context, model.Pool) error) map[string]pooladmin.ProbeResult {
	t.Helper()
	res, err := f.admin.Probe(context.Background(), threshold, time.Second, check)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]pooladmin.ProbeResult{}
	for _, r := range res {
		out[r.Pool] = r
	}
	return out
}

func (f *fixture) status(t *testing.T, id int64) model.Pool {
	t.Helper()
	p, err := f.st.PoolGet(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// An active pool goes offline after threshold consecutive failures (not
// before; a success in between starts the count again), as a health row by
// the monitor, and comes back on its first good probe. Pools an admin
// paused or took offline are not probed and never overridden.
func TestProbeThresholdsAndRecovery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := open(t, d)
		sick := f.pool(t, "sick", model.KindServer, 1)
		well := f.pool(t, "well", model.KindServer, 1)
		paused := f.pool(t, "paused", model.KindServer, 1)
		down := f.pool(t, "down", model.KindServer, 1)
		ctx := context.Background()
		if _, err := f.admin.SetStatus(ctx, []int64{paused.ID}, string(model.StatusPaused), "by hand", "admin"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.admin.SetStatus(ctx, []int64{down.ID}, string(model.StatusOffline), "unplugged", "admin"); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		probed := map[string]int{}
		failing := map[string]bool{"sick": true, "paused": true, "down": true}
		check := func(_ context.Context, p model.Pool) error {
			mu.Lock()
			defer mu.Unlock()
			probed[p.Name]++
			if failing[p.Name] {
				return errProbe
			}
			return nil
		}
		r := f.probe(t, 3, check)
		r = f.probe(t, 3, check)
		if r["sick"].Failures != 2 || r["sick"].Changed != "" || f.status(t, sick.ID).Status != model.StatusActive {
			t.Fatalf("after 2 of 3 failures: %+v, pool %s; want still active", r["sick"], f.status(t, sick.ID).Status)
		}
		mu.Lock()
		failing["sick"] = false
		mu.Unlock()
		if r = f.probe(t, 3, check); !r["sick"].OK || r["sick"].Failures != 0 {
			t.Fatalf("a good probe: %+v, want the count reset", r["sick"])
		}
		mu.Lock()
		failing["sick"] = true
		mu.Unlock()
		for i := 1; i <= 2; i++ {
			if r = f.probe(t, 3, check); r["sick"].Changed != "" {
				t.Fatalf("failure %d after a reset took the pool %s", i, r["sick"].Changed)
			}
		}
		r = f.probe(t, 3, check)
		if r["sick"].Changed != model.StatusOffline || r["sick"].Failures != 3 {
			t.Fatalf("third consecutive failure: %+v, want offline", r["sick"])
		}
		p := f.status(t, sick.ID)
		if p.Status != model.StatusOffline || p.StatusActor != model.ActorMonitor || !strings.Contains(p.StatusMessage, "3 consecutive failed probes: connection refused") {
			t.Fatalf("sick pool %+v", p)
		}
		h := f.history(t, "sick")
		if last := h[len(h)-1]; last.Action != model.ActHealthOffline || last.Actor != model.ActorMonitor || last.From != string(model.StatusActive) {
			t.Fatalf("history %+v, want health.offline by the monitor", last)
		}
		if r["well"].Changed != "" || f.status(t, well.ID).Status != model.StatusActive {
			t.Fatalf("the healthy pool changed: %+v", r["well"])
		}
		// Still failing: the monitor's own offline pool is probed, stays offline.
		if r = f.probe(t, 3, check); r["sick"].Changed != "" || f.status(t, sick.ID).Status != model.StatusOffline {
			t.Fatalf("offline pool failing again: %+v", r["sick"])
		}
		mu.Lock()
		failing["sick"], failing["paused"], failing["down"] = false, false, false
		mu.Unlock()
		r = f.probe(t, 3, check)
		if r["sick"].Changed != model.StatusActive || f.status(t, sick.ID).Status != model.StatusActive {
			t.Fatalf("recovered probe: %+v, want active again", r["sick"])
		}
		h = f.history(t, "sick")
		if last := h[len(h)-1]; last.Action != model.ActHealthRecovered || last.To != string(model.StatusActive) {
			t.Fatalf("history %+v, want health.recovered", last)
		}
		mu.Lock()
		defer mu.Unlock()
		if probed["paused"] != 0 || probed["down"] != 0 {
			t.Fatalf("probed pools an admin set aside: %v", probed)
		}
		if f.status(t, paused.ID).Status != model.StatusPaused || f.status(t, down.ID).Status != model.StatusOffline {
			t.Fatal("the monitor overrode an admin's status")
		}
	})
}

// An admin who pauses a pool while its probe is failing wins: the
// monitor's change is conditional on the status the probe saw.
func TestProbeNeverOverridesAStatusSetMeanwhile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := open(t, d)
		p := f.pool(t, "p", model.KindServer, 1)
		r := f.probe(t, 1, func(ctx context.Context, pool model.Pool) error {
			if _, err := f.admin.SetStatus(ctx, []int64{pool.ID}, string(model.StatusPaused), "maintenance", "admin"); err != nil {
				t.Error(err)
			}
			return errProbe
		})
		if r["p"].Changed != "" {
			t.Fatalf("probe result %+v, want no change", r["p"])
		}
		if got := f.status(t, p.ID); got.Status != model.StatusPaused || got.StatusActor != "admin" {
			t.Fatalf("pool %s by %s, want paused by admin", got.Status, got.StatusActor)
		}
		for _, h := range f.history(t, "p") {
			if h.Action == model.ActHealthOffline {
				t.Fatalf("a health.offline row was written: %+v", h)
			}
		}
	})
}

// A probe the provider refuses outright (credentials) marks the pool
// credential_invalid at once, without waiting for the threshold, and the
// monitor does not bring it back: only an admin does.
func TestProbeCredentialsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := open(t, d)
		p := f.pool(t, "p", model.KindServer, 1)
		refused := provider.Errorf(provider.PoolPermanent, "HTTP 401: bad token")
		r := f.probe(t, 5, func(context.Context, model.Pool) error { return refused })
		if r["p"].Changed != model.StatusCredentialInvalid || f.status(t, p.ID).Status != model.StatusCredentialInvalid {
			t.Fatalf("first refused probe: %+v, pool %s; want credential_invalid", r["p"], f.status(t, p.ID).Status)
		}
		r = f.probe(t, 5, func(context.Context, model.Pool) error { return nil })
		if _, ok := r["p"]; ok || f.status(t, p.ID).Status != model.StatusCredentialInvalid {
			t.Fatalf("a good probe after the refusal: %+v, pool %s; want not probed, still credential_invalid", r, f.status(t, p.ID).Status)
		}
	})
}
