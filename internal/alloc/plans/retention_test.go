package plans

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Two actions for the retention test: one with no step (its apply
// finishes at once) and one with a paced move (its apply schedules it; the
// paced job never runs here, so it stays scheduled until cancelled).
// Neither reaches the runtime.
const (
	testActionNothing = "test.nothing"
	testActionPaced   = "test.paced"
)

var registerTestActions = sync.OnceFunc(func() {
	Register(testActionNothing, func(context.Context, *Service, json.RawMessage) (Draft, error) { return Draft{}, nil })
	Register(testActionPaced, func(context.Context, *Service, json.RawMessage) (Draft, error) {
		return Draft{Steps: []Step{{Op: OpPacedMove, PoolID: 1, Pool: "a", Member: "m", MemberID: 1, SeatID: 1, To: "b", ToID: 2}}}, nil
	})
})

// The sweep's retention (DeleteFinished): a plan finished longer ago than
// the retention is deleted and then read as not found (the API's 404);
// a younger one stays, a rebalance whose paced moves are still scheduled
// stays however old, its age counts from when its moves stopped, not from
// its apply, and a retention of 0 keeps everything.
func TestDeleteFinished(t *testing.T) {
	registerTestActions()
	const day = 24 * time.Hour
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		now := t0
		st.SetClock(func() time.Time { return now })
		s := New(st, nil)
		newPlan := func(action string, apply bool) int64 {
			t.Helper()
			p, err := s.Create(ctx, action, nil, "test")
			if err != nil {
				t.Fatal(err)
			}
			if apply {
				if p, err = s.Apply(ctx, p.ID, "test"); err != nil {
					t.Fatal(err)
				}
				if p.State != StateApplied {
					t.Fatalf("plan %d is %s after apply", p.ID, p.State)
				}
			}
			return p.ID
		}
		cancel := func(id int64) {
			t.Helper()
			if p, err := s.CancelPaced(ctx, id, "test"); err != nil || p.Result.Cancelled != 1 {
				t.Fatalf("cancel plan %d: %+v, %v", id, p.Result, err)
			}
		}
		sweep := func(retention time.Duration, want int64) {
			t.Helper()
			if n, err := s.DeleteFinished(ctx, retention); err != nil || n != want {
				t.Fatalf("at day %d, retention %s: %d deleted, %v; want %d", now.Sub(t0)/day, retention, n, err, want)
			}
		}
		kept := func(ids ...int64) {
			t.Helper()
			for _, id := range ids {
				if _, err := s.Get(ctx, id); err != nil {
					t.Errorf("at day %d plan %d: %v, want kept", now.Sub(t0)/day, id, err)
				}
			}
		}
		gone := func(ids ...int64) {
			t.Helper()
			for _, id := range ids {
				_, err := s.Get(ctx, id)
				if !errors.Is(err, store.ErrNotFound) || alloc.KindOf(err) != alloc.KindNotFound {
					t.Errorf("at day %d plan %d: %v, want not found", now.Sub(t0)/day, id, err)
				}
			}
		}

		applied := newPlan(testActionNothing, true)  // finished at t0
		expired := newPlan(testActionNothing, false) // finished at t0+15m
		running := newPlan(testActionPaced, true)    // a move scheduled
		stopped := newPlan(testActionPaced, true)    // applied at t0, stopped on day 20
		now = t0.Add(20 * day)
		cancel(stopped)
		now = t0.Add(29 * day)
		young := newPlan(testActionNothing, true)
		youngExpired := newPlan(testActionNothing, false)
		all := []int64{applied, expired, running, stopped, young, youngExpired}

		now = t0.Add(31 * day)
		sweep(0, 0) // 0 keeps plans forever
		kept(all...)
		sweep(30*day, 2)
		gone(applied, expired)
		kept(running, stopped, young, youngExpired)
		if p, _ := s.Get(ctx, running); p.Result == nil || p.Result.Scheduled != 1 {
			t.Fatalf("the running plan's result: %+v", p.Result)
		}

		now = t0.Add(365 * day)
		sweep(30*day, 3)
		gone(stopped, young, youngExpired)
		kept(running)

		// Once its moves are stopped, the old rebalance goes a retention
		// later, not at once.
		cancel(running)
		sweep(30*day, 0)
		kept(running)
		now = now.Add(31 * day)
		sweep(30*day, 1)
		gone(running)
	})
}
