package integrity_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// env is a database with a clock the test moves.
type env struct {
	t   *testing.T
	ctx context.Context
	st  *store.Store
	now time.Time
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, d store.Dialect) *env {
	e := &env{t: t, ctx: context.Background(), st: storetest.Open(t, d), now: t0}
	e.st.SetClock(func() time.Time { return e.now })
	return e
}

func (e *env) advance(d time.Duration) { e.now = e.now.Add(d) }

func (e *env) pool(name string, capacity int) model.Pool {
	e.t.Helper()
	return storetest.Pool(e.t, e.st, store.PoolCreateParams{Name: name, Kind: model.KindServer, Capacity: capacity})
}

func (e *env) setStatus(p model.Pool, st model.PoolStatus) {
	e.t.Helper()
	if _, ok, err := e.st.PoolSetStatus(e.ctx, p.ID, st, "test", "test", ""); err != nil || !ok {
		e.t.Fatalf("set %s %s: %v %v", p.Name, st, ok, err)
	}
}

func (e *env) member(ext string) model.Member {
	e.t.Helper()
	m, _, err := e.st.MemberCreate(e.ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: ext, AffinityKey: "script"})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// seat creates a seat the way alloc does: a counted seat takes its room
// with the capacity guard first, so pools.used stays right.
func (e *env) seat(m model.Member, p model.Pool, state model.SeatState, moveFrom int64) int64 {
	e.t.Helper()
	if state.Counted() {
		if ok, err := e.st.PoolReserve(e.ctx, p.ID); err != nil || !ok {
			e.t.Fatalf("reserve on %s: %v %v", p.Name, ok, err)
		}
	}
	id, err := e.st.SeatCreate(e.ctx, m.ID, p.ID, state, moveFrom, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.st.DB.ExecContext(e.ctx, query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// repair runs integrity.Repair and fails the test on an error.
func (e *env) repair(rel integrity.Releaser, rep integrity.Report, limit int, actor string) integrity.RepairResult {
	e.t.Helper()
	res, err := integrity.Repair(e.ctx, e.st, rel, rep, limit, actor)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) check(opts integrity.Options) integrity.Report {
	e.t.Helper()
	rep, err := integrity.Check(e.ctx, &e.st.Queries, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func (e *env) seatState(id int64) model.SeatState {
	e.t.Helper()
	s, err := e.st.SeatGet(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s.State
}

func orphanMembers(rep integrity.Report) []string {
	var out []string
	for _, o := range rep.Orphans {
		out = append(out, o.Member)
	}
	return out
}

func seatIDs(o integrity.Orphan) []int64 {
	var out []int64
	for _, s := range o.Seats {
		out = append(out, s.SeatID)
	}
	return out
}

// fakeReleaser records the seats it is asked to release.
type fakeReleaser struct {
	calls []int64
	fail  map[int64]error
}

func (f *fakeReleaser) ReleaseTx(ctx context.Context, tx *store.Tx, seatID int64, actor string) error {
	f.calls = append(f.calls, seatID)
	return f.fail[seatID]
}

// A healthy database reports nothing, and the report's lists are [] in JSON.
func TestCheck_Clean(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		a, b := e.pool("a", 3), e.pool("b", 3)
		m1, m2 := e.member("m1"), e.member("m2")
		e.seat(m1, a, model.SeatActive, 0)
		// m2 moved from a to b: the old seat released, the move done.
		old := e.seat(m2, a, model.SeatActive, 0)
		mv, err := e.st.MoveCreate(e.ctx, model.Move{MemberID: m2.ID, FromSeat: old, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		e.seat(m2, b, model.SeatActive, old)
		if _, err := e.st.SeatTransition(e.ctx, old, model.SeatReleased, "", model.SeatActive); err != nil {
			t.Fatal(err)
		}
		if err := e.st.PoolGiveBack(e.ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.MoveFinish(e.ctx, mv, model.MoveDone, ""); err != nil {
			t.Fatal(err)
		}
		// A failed and a released seat do not count.
		e.seat(e.member("m3"), b, model.SeatFailed, 0)
		// A code whose counters match its history: two uses, one refunded;
		// one rebind charged.
		code, err := e.st.CodeCreate(e.ctx, store.CodeCreateParams{Display: "C-1", Normalized: "c1", Hint: "c1", MaxUses: 2, RebindLimit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, act := range []string{model.ActCodeUsed, model.ActCodeUsed, model.ActCodeRefunded, model.ActRebindCharged, model.ActCodeBound} {
			if err := e.st.HistoryAdd(e.ctx, model.HistoryEntry{Member: "u@example.com", Action: act, CodeID: code}); err != nil {
				t.Fatal(err)
			}
		}
		e.exec(`UPDATE codes SET used_count = 1, rebind_count = 1 WHERE id = $1`, code)
		// Unused codes with no history are clean too.
		if _, err := e.st.CodeCreate(e.ctx, store.CodeCreateParams{Display: "C-2", Normalized: "c2", Hint: "c2", MaxUses: 1}); err != nil {
			t.Fatal(err)
		}

		e.advance(24 * time.Hour)
		rep := e.check(integrity.Options{})
		if !rep.Clean() || rep.Truncated {
			t.Fatalf("clean database reports %+v", rep)
		}
		if !rep.CheckedAt.Equal(e.now) {
			t.Errorf("checked_at = %v, want %v", rep.CheckedAt, e.now)
		}
		raw, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"orphans":[]`, `"overbooked":[]`, `"zombie_moves":[]`, `"drift":[]`, `"checked_at":`} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("JSON %s has no %s", raw, want)
			}
		}
	})
}

// An orphan is reported only once its newest live seat is older than grace.
func TestCheck_OrphanGrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		a, b := e.pool("a", 3), e.pool("b", 3)
		m := e.member("639277333688")
		e.seat(e.member("fine"), a, model.SeatActive, 0)
		s1 := e.seat(m, a, model.SeatActive, 0)
		e.advance(time.Minute)
		s2 := e.seat(m, b, model.SeatProvisioning, 0)
		// releasing seats are not live: they do not make an orphan.
		e.seat(m, b, model.SeatReleasing, 0)

		e.advance(5 * time.Minute)
		if rep := e.check(integrity.Options{}); len(rep.Orphans) != 0 {
			t.Fatalf("orphan younger than the grace period reported: %+v", rep.Orphans)
		}
		if rep := e.check(integrity.Options{Grace: 2 * time.Minute}); len(rep.Orphans) != 1 {
			t.Fatalf("grace 2m: orphans %+v, want one", rep.Orphans)
		}
		e.advance(5 * time.Minute) // 10m after s2
		if rep := e.check(integrity.Options{}); len(rep.Orphans) != 0 {
			t.Fatalf("orphan exactly at the grace period reported: %+v", rep.Orphans)
		}
		e.advance(time.Second)
		rep := e.check(integrity.Options{})
		if len(rep.Orphans) != 1 {
			t.Fatalf("orphans = %+v, want one", rep.Orphans)
		}
		o := rep.Orphans[0]
		if o.Member != "639277333688" || o.MemberID != m.ID || o.Kind != model.KindServer {
			t.Errorf("orphan = %+v", o)
		}
		if got := seatIDs(o); !slices.Equal(got, []int64{s2, s1}) {
			t.Fatalf("orphan seats = %v, want [%d %d] (newest first)", got, s2, s1)
		}
		want := integrity.OrphanSeat{SeatID: s2, PoolID: b.ID, Pool: "b", PoolStatus: model.StatusActive, State: model.SeatProvisioning,
			CreatedAt: t0.Add(time.Minute)}
		if o.Seats[0] != want {
			t.Errorf("seat = %+v, want %+v", o.Seats[0], want)
		}
		if len(rep.Overbooked) != 0 || len(rep.Drift) != 0 || len(rep.ZombieMoves) != 0 {
			t.Errorf("unexpected findings: %+v", rep)
		}
		raw, _ := json.Marshal(o)
		for _, k := range []string{`"member":`, `"member_id":`, `"kind":"server"`, `"seat_id":`, `"pool":"b"`, `"pool_status":"active"`,
			`"state":"provisioning"`, `"created_at":`} {
			if !strings.Contains(string(raw), k) {
				t.Errorf("orphan JSON %s has no %s", raw, k)
			}
		}

		// Limit cuts the list and says so.
		m2 := e.member("second")
		e.seat(m2, a, model.SeatActive, 0)
		e.seat(m2, b, model.SeatActive, 0)
		e.advance(time.Hour)
		if rep := e.check(integrity.Options{}); len(rep.Orphans) != 2 || rep.Truncated {
			t.Fatalf("orphans = %v, truncated %v; want 2, false", orphanMembers(rep), rep.Truncated)
		}
		if rep := e.check(integrity.Options{Limit: 1}); len(rep.Orphans) != 1 || !rep.Truncated {
			t.Fatalf("limit 1: orphans = %v, truncated %v", orphanMembers(rep), rep.Truncated)
		}
	})
}

// Two live seats joined by a pending move are a move in flight, not an
// orphan; once the move is no longer pending they are.
func TestCheck_PendingMoveIsNotOrphan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		a, b, c := e.pool("a", 3), e.pool("b", 3), e.pool("c", 3)
		m := e.member("mover")
		old := e.seat(m, a, model.SeatActive, 0)
		mv, err := e.st.MoveCreate(e.ctx, model.Move{MemberID: m.ID, FromSeat: old, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		e.seat(m, b, model.SeatProvisioning, old)
		e.advance(time.Hour)
		rep := e.check(integrity.Options{ZombieAfter: 2 * time.Hour})
		if !rep.Clean() {
			t.Fatalf("move in flight reported: %+v", rep)
		}

		// A third live seat is not explained by the move.
		extra := e.seat(m, c, model.SeatActive, 0)
		e.advance(time.Hour)
		rep = e.check(integrity.Options{ZombieAfter: 3 * time.Hour})
		if len(rep.Orphans) != 1 || len(rep.Orphans[0].Seats) != 3 {
			t.Fatalf("orphans = %+v, want the mover with 3 seats", rep.Orphans)
		}
		if _, err := e.st.SeatTransition(e.ctx, extra, model.SeatReleasing, "", model.SeatActive); err != nil {
			t.Fatal(err)
		}
		// Two seats claiming to replace the same one: one move explains one.
		second := e.seat(m, c, model.SeatReserved, old)
		e.advance(time.Hour)
		rep = e.check(integrity.Options{ZombieAfter: 4 * time.Hour})
		if len(rep.Orphans) != 1 {
			t.Fatalf("two targets of one move: orphans = %+v", rep.Orphans)
		}
		if _, err := e.st.SeatTransition(e.ctx, second, model.SeatFailed, "", model.SeatReserved); err != nil {
			t.Fatal(err)
		}
		e.exec(`UPDATE pools SET used = used - 1 WHERE id = $1`, c.ID)
		if rep := e.check(integrity.Options{ZombieAfter: 4 * time.Hour}); !rep.Clean() {
			t.Fatalf("back to one move in flight: %+v", rep)
		}

		// The move failed but the new seat stayed live: now an orphan.
		if _, err := e.st.MoveFinish(e.ctx, mv, model.MoveFailed, "test"); err != nil {
			t.Fatal(err)
		}
		rep = e.check(integrity.Options{})
		if len(rep.Orphans) != 1 || rep.Orphans[0].Member != "mover" {
			t.Fatalf("orphans after the move ended = %+v", rep.Orphans)
		}
		// Both seats were made at t0: the newer id comes first.
		if got := rep.Orphans[0].Seats; got[0].MoveFrom != old || got[1].SeatID != old || got[1].MoveFrom != 0 {
			t.Errorf("seats = %+v, want the move's target (move_from %d) first", got, old)
		}
	})
}

// A move pending longer than ZombieAfter is a zombie.
func TestCheck_ZombieMove(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		a := e.pool("a", 3)
		m := e.member("stuck")
		s := e.seat(m, a, model.SeatActive, 0)
		mv, err := e.st.MoveCreate(e.ctx, model.Move{MemberID: m.ID, FromSeat: s, Reason: "drain of a", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		// A finished move is never a zombie.
		other := e.member("done")
		s2 := e.seat(other, a, model.SeatActive, 0)
		done, err := e.st.MoveCreate(e.ctx, model.Move{MemberID: other.ID, FromSeat: s2, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.MoveFinish(e.ctx, done, model.MoveCancelled, ""); err != nil {
			t.Fatal(err)
		}
		e.advance(29 * time.Minute)
		if rep := e.check(integrity.Options{}); len(rep.ZombieMoves) != 0 {
			t.Fatalf("young move reported: %+v", rep.ZombieMoves)
		}
		e.advance(2 * time.Minute)
		rep := e.check(integrity.Options{})
		if len(rep.ZombieMoves) != 1 {
			t.Fatalf("zombie moves = %+v, want one", rep.ZombieMoves)
		}
		z := rep.ZombieMoves[0]
		if z.ID != mv || z.Member != "stuck" || z.FromSeat != s || z.State != model.MovePending || !z.CreatedAt.Equal(t0) {
			t.Errorf("zombie = %+v", z)
		}
		if rep := e.check(integrity.Options{ZombieAfter: time.Hour}); len(rep.ZombieMoves) != 0 {
			t.Fatalf("zombie_after 1h: %+v", rep.ZombieMoves)
		}
	})
}

// pools.used that disagrees with the seats is drift; more counted seats
// than capacity is overbooking.
func TestCheck_PoolDriftAndOverbooked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		a, b, c := e.pool("a", 5), e.pool("b", 1), e.pool("c", 2)
		e.seat(e.member("m1"), a, model.SeatActive, 0)
		e.seat(e.member("m2"), c, model.SeatReleaseFailed, 0) // still counted
		e.exec(`UPDATE pools SET used = 3 WHERE id = $1`, a.ID)
		// b: two counted seats, one of them inserted past the guard.
		e.seat(e.member("m3"), b, model.SeatActive, 0)
		if _, err := e.st.SeatCreate(e.ctx, e.member("m4").ID, b.ID, model.SeatReleasing, 0, 0); err != nil {
			t.Fatal(err)
		}
		rep := e.check(integrity.Options{})
		wantDrift := []integrity.Drift{
			{Kind: integrity.DriftPoolUsed, Pool: "a", PoolID: a.ID, Recorded: 3, Derived: 1},
			{Kind: integrity.DriftPoolUsed, Pool: "b", PoolID: b.ID, Recorded: 1, Derived: 2},
		}
		if !slices.Equal(rep.Drift, wantDrift) {
			t.Errorf("drift = %+v, want %+v", rep.Drift, wantDrift)
		}
		wantOver := []integrity.Overbooked{{Pool: "b", PoolID: b.ID, Used: 1, Counted: 2, Capacity: 1}}
		if !slices.Equal(rep.Overbooked, wantOver) {
			t.Errorf("overbooked = %+v, want %+v", rep.Overbooked, wantOver)
		}
		raw, _ := json.Marshal(rep.Drift[0])
		if string(raw) != fmt.Sprintf(`{"kind":"pool_used","pool":"a","pool_id":%d,"recorded":3,"derived":1}`, a.ID) {
			t.Errorf("drift JSON = %s", raw)
		}
		raw, _ = json.Marshal(rep.Overbooked[0])
		if string(raw) != fmt.Sprintf(`{"pool":"b","pool_id":%d,"used":1,"counted":2,"capacity":1}`, b.ID) {
			t.Errorf("overbooked JSON = %s", raw)
		}
	})
}

// A code's counters must equal what its history says.
func TestCheck_CodeDrift(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		newCode := func(n int) int64 {
			id, err := e.st.CodeCreate(e.ctx, store.CodeCreateParams{Display: fmt.Sprint("C-", n), Normalized: fmt.Sprint("c", n),
				Hint: fmt.Sprint("c", n), MaxUses: 3, RebindLimit: 3})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		hist := func(code int64, actions ...string) {
			for _, act := range actions {
				if err := e.st.HistoryAdd(e.ctx, model.HistoryEntry{Member: "u@example.com", Action: act, CodeID: code}); err != nil {
					t.Fatal(err)
				}
			}
		}
		used, rebind, fine := newCode(1), newCode(2), newCode(3)
		// used: history says 1 use (2 - 1 refunded), the row says 2.
		hist(used, model.ActCodeUsed, model.ActCodeUsed, model.ActCodeRefunded)
		e.exec(`UPDATE codes SET used_count = 2 WHERE id = $1`, used)
		// rebind: history says 1 rebind, the row says 0; uses agree.
		hist(rebind, model.ActCodeUsed, model.ActRebindCharged, model.ActRebindCharged, model.ActRebindRefunded)
		e.exec(`UPDATE codes SET used_count = 1 WHERE id = $1`, rebind)
		hist(fine, model.ActCodeUsed, model.ActCodeBound, model.ActRebindCharged)
		e.exec(`UPDATE codes SET used_count = 1, rebind_count = 1 WHERE id = $1`, fine)
		// Rows of other actions or without a code do not count.
		hist(0, model.ActCodeUsed)

		rep := e.check(integrity.Options{})
		want := []integrity.Drift{
			{Kind: integrity.DriftCodeUsed, CodeID: used, Recorded: 2, Derived: 1},
			{Kind: integrity.DriftCodeRebind, CodeID: rebind, Recorded: 0, Derived: 1},
		}
		if !slices.Equal(rep.Drift, want) {
			t.Fatalf("drift = %+v, want %+v", rep.Drift, want)
		}
		raw, _ := json.Marshal(rep.Drift[0])
		if string(raw) != fmt.Sprintf(`{"kind":"code_used","code_id":%d,"recorded":2,"derived":1}`, used) {
			t.Errorf("drift JSON = %s", raw)
		}
	})
}

// orphanSetup makes a member with an older seat on an active pool and a
// newer one on a banned pool, and returns them once past the grace period.
func orphanSetup(e *env, name string, a, b model.Pool) (keep, drop int64) {
	m := e.member(name)
	keep = e.seat(m, a, model.SeatActive, 0)
	e.advance(time.Second)
	drop = e.seat(m, b, model.SeatActive, 0)
	return keep, drop
}

// Repair keeps the seat on the active pool, even though it is older, and
// releases the other; it writes history.
func TestRepair_KeepsActivePool(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		a, b := e.pool("a", 5), e.pool("b", 5)
		keep, drop := orphanSetup(e, "m1", a, b)
		e.setStatus(b, model.StatusBanned)
		// All pools unhealthy: the newest seat is kept.
		c, dd := e.pool("c", 5), e.pool("d", 5)
		_, newest := orphanSetup(e, "m2", c, dd)
		e.setStatus(c, model.StatusOffline)
		e.setStatus(dd, model.StatusPaused)
		e.advance(time.Hour)

		rep := e.check(integrity.Options{})
		if got := orphanMembers(rep); !slices.Equal(got, []string{"m1", "m2"}) {
			t.Fatalf("orphans = %v", got)
		}
		if st := rep.Orphans[0].Seats[0].PoolStatus; st != model.StatusBanned {
			t.Errorf("pool_status of the banned seat = %s", st)
		}
		rel := &fakeReleaser{}
		res := e.repair(rel, rep, 10, "alice")
		m2old := rep.Orphans[1].Seats[1].SeatID
		if !slices.Equal(rel.calls, []int64{drop, m2old}) {
			t.Errorf("released %v, want [%d %d]", rel.calls, drop, m2old)
		}
		if res.Released != 2 || !slices.Equal(res.Kept, []int64{keep, newest}) || res.Skipped != 0 || res.Changed != 0 || len(res.Errors) != 0 {
			t.Errorf("result = %+v", res)
		}
		h, err := e.st.HistoryList(e.ctx, store.HistoryFilter{Member: "m1", Action: model.ActOrphanRepaired})
		if err != nil || len(h) != 1 {
			t.Fatalf("history = %+v, %v", h, err)
		}
		if h[0].Pool != "a" || h[0].Actor != "alice" || !strings.Contains(h[0].Reason, fmt.Sprintf("kept seat %d", keep)) ||
			!strings.Contains(h[0].Reason, fmt.Sprintf("released %d (b)", drop)) {
			t.Errorf("history entry = %+v", h[0])
		}

		// A failed release is reported and does not stop the others.
		rel = &fakeReleaser{fail: map[int64]error{drop: errors.New("boom")}}
		res = e.repair(rel, rep, 10, "alice")
		if res.Released != 1 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "boom") || len(rel.calls) != 2 {
			t.Errorf("with a failure: %+v, calls %v", res, rel.calls)
		}
	})
}

// With the real allocation service the released seat is releasing, and the
// next check finds no orphan.
func TestRepair_AllocService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		a, b := e.pool("a", 5), e.pool("b", 5)
		keep, drop := orphanSetup(e, "m1", a, b)
		e.setStatus(b, model.StatusDraining)
		e.advance(time.Hour)
		rep := e.check(integrity.Options{})
		if len(rep.Orphans) != 1 {
			t.Fatalf("orphans = %+v", rep.Orphans)
		}
		svc := alloc.New(e.st, storetest.NoJobs{}, nil)
		res := e.repair(svc, rep, 1000, "admin")
		if res.Released != 1 || !slices.Equal(res.Kept, []int64{keep}) || len(res.Errors) != 0 {
			t.Fatalf("result = %+v", res)
		}
		if st := e.seatState(drop); st != model.SeatReleasing {
			t.Errorf("released seat is %s, want releasing", st)
		}
		if st := e.seatState(keep); st != model.SeatActive {
			t.Errorf("kept seat is %s, want active", st)
		}
		if rep := e.check(integrity.Options{}); !rep.Clean() {
			t.Errorf("after repair: %+v", rep)
		}
		// Repairing the same (now stale) report again changes nothing.
		res, err := integrity.Repair(e.ctx, e.st, svc, rep, 1000, "admin")
		if err != nil || res.Released != 0 || res.Changed != 1 {
			t.Errorf("second repair: %+v, %v", res, err)
		}
	})
}

// failSecond releases through alloc but fails the second seat it is asked
// to release.
type failSecond struct {
	svc   *alloc.Service
	calls int
}

func (f *failSecond) ReleaseTx(ctx context.Context, tx *store.Tx, seatID int64, actor string) error {
	f.calls++
	if f.calls == 2 {
		return errors.New("boom")
	}
	return f.svc.ReleaseTx(ctx, tx, seatID, actor)
}

// An orphan is repaired in one transaction: when its second release fails,
// the first is undone too and no history row claims a repair, so the next
// check finds the orphan as it was and a repair can run again.
func TestRepair_OneTransactionPerOrphan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		a, b, c := e.pool("a", 5), e.pool("b", 5), e.pool("c", 5)
		m := e.member("m1")
		keep := e.seat(m, a, model.SeatActive, 0)
		e.advance(time.Second)
		x := e.seat(m, b, model.SeatActive, 0)
		e.advance(time.Second)
		y := e.seat(m, c, model.SeatActive, 0)
		e.setStatus(b, model.StatusBanned)
		e.setStatus(c, model.StatusBanned)
		e.advance(time.Hour)
		rep := e.check(integrity.Options{})
		svc := alloc.New(e.st, storetest.NoJobs{}, nil)
		res := e.repair(&failSecond{svc: svc}, rep, 10, "admin")
		if res.Released != 0 || len(res.Kept) != 0 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "boom") {
			t.Fatalf("result = %+v", res)
		}
		for _, id := range []int64{keep, x, y} {
			if st := e.seatState(id); st != model.SeatActive {
				t.Errorf("seat %d is %s after a repair that failed half-way, want active", id, st)
			}
		}
		if h, err := e.st.HistoryList(e.ctx, store.HistoryFilter{Member: "m1", Action: model.ActOrphanRepaired}); err != nil || len(h) != 0 {
			t.Errorf("history after a failed repair = %+v, %v", h, err)
		}
		// Run again without the failure: both extra seats go, one row.
		res, err := integrity.Repair(e.ctx, e.st, svc, e.check(integrity.Options{}), 10, "admin")
		if err != nil || res.Released != 2 || !slices.Equal(res.Kept, []int64{keep}) {
			t.Fatalf("second repair: %+v, %v", res, err)
		}
		if h, err := e.st.HistoryList(e.ctx, store.HistoryFilter{Member: "m1", Action: model.ActOrphanRepaired}); err != nil || len(h) != 1 {
			t.Errorf("history after the repair = %+v, %v", h, err)
		}
	})
}

// Repair starts at most limit releases and counts the rest as skipped.
func TestRepair_Limit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		pools := []model.Pool{e.pool("a", 5), e.pool("b", 5), e.pool("c", 5)}
		for i := range 3 {
			m := e.member(fmt.Sprint("m", i))
			for _, p := range pools {
				e.seat(m, p, model.SeatActive, 0)
			}
		}
		e.advance(time.Hour)
		rep := e.check(integrity.Options{})
		if len(rep.Orphans) != 3 {
			t.Fatalf("orphans = %v", orphanMembers(rep))
		}
		for _, bad := range []int{0, -1, integrity.MaxRepair + 1} {
			rel := &fakeReleaser{}
			if _, err := integrity.Repair(e.ctx, e.st, rel, rep, bad, "admin"); !errors.Is(err, integrity.ErrLimit) || len(rel.calls) != 0 {
				t.Errorf("limit %d: err %v, calls %v", bad, err, rel.calls)
			}
		}
		rel := &fakeReleaser{}
		res := e.repair(rel, rep, 3, "admin")
		if len(rel.calls) != 3 || res.Released != 3 || res.Skipped != 3 || len(res.Kept) != 2 {
			t.Errorf("limit 3: result %+v, calls %v", res, rel.calls)
		}
		// Each orphan keeps its newest seat on an active pool: the one on c.
		for _, o := range rep.Orphans[:2] {
			if o.Seats[0].Pool != "c" || !slices.Contains(res.Kept, o.Seats[0].SeatID) {
				t.Errorf("orphan %s: kept %v, want its seat on c (%d)", o.Member, res.Kept, o.Seats[0].SeatID)
			}
		}
	})
}

// Repair reads each orphan again: one that changed since the check is left
// alone.
func TestRepair_Rechecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		a, b, c := e.pool("a", 5), e.pool("b", 5), e.pool("c", 5)
		_, gone := orphanSetup(e, "resolved", a, b)
		orphanSetup(e, "grew", a, b)
		e.advance(time.Hour)
		rep := e.check(integrity.Options{})
		if len(rep.Orphans) != 2 {
			t.Fatalf("orphans = %v", orphanMembers(rep))
		}
		// One orphan resolved itself; the other got a new seat.
		if _, err := e.st.SeatTransition(e.ctx, gone, model.SeatReleasing, "", model.SeatActive); err != nil {
			t.Fatal(err)
		}
		grew, err := e.st.MemberGetByExternal(e.ctx, model.KindServer, "grew")
		if err != nil {
			t.Fatal(err)
		}
		e.seat(grew, c, model.SeatProvisioning, 0)
		rel := &fakeReleaser{}
		res := e.repair(rel, rep, 10, "admin")
		if len(rel.calls) != 0 || res.Changed != 2 || res.Released != 0 || len(res.Kept) != 0 {
			t.Errorf("result %+v, calls %v", res, rel.calls)
		}
	})
}
