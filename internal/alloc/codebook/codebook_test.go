package codebook_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// removals is an alloc.Enqueuer that enqueues nothing and records the
// seats whose removal was asked for.
type removals struct {
	storetest.NoJobs
	mu    sync.Mutex
	seats []int64
}

func (r *removals) Remove(_ context.Context, _ *store.Tx, seatID int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seats = append(r.seats, seatID)
	return nil
}

func (r *removals) list() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.seats...)
}

type fixture struct {
	st      *store.Store
	rt      *alloc.Service
	book    *codebook.Service
	removed *removals
	mu      sync.Mutex
	now     time.Time
}

func open(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	f := &fixture{st: storetest.Open(t, d), removed: &removals{}, now: time.Now().UTC().Truncate(time.Second)}
	f.st.SetClock(func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now })
	f.rt = alloc.New(f.st, f.removed, nil)
	f.book = codebook.New(f.st, f.rt)
	return f
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// teams creates n team pools of capacity seats each.
func (f *fixture) teams(t *testing.T, n, capacity int) {
	t.Helper()
	admin := pooladmin.New(f.st, f.rt)
	for i := range n {
		if _, err := admin.Create(context.Background(), pooladmin.Input{Name: "team-" + string(rune('a'+i)), Kind: model.KindTeam,
			Capacity: &capacity, Provider: []byte(`{"type":"sim"}`)}, "admin"); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) generate(t *testing.T, spec codebook.Spec) []string {
	t.Helper()
	out, err := f.book.Generate(context.Background(), spec, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) code(t *testing.T, display string) model.Code {
	t.Helper()
	norm, err := codes.Normalize(display)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.st.CodeByLookup(context.Background(), norm, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func intp(n int) *int { return &n }

// Malformed batches are refused as invalid and write nothing; a good one
// makes distinct, typeable codes with the defaults (one use, three
// rebinds), one history row for the batch, and a batch name from the clock.
func TestGenerate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := open(t, d)
		bad := map[string]codebook.Spec{
			"no count":            {},
			"too many":            {Count: codebook.MaxPerBatch + 1},
			"negative max_uses":   {Count: 1, MaxUses: -1},
			"negative valid_for":  {Count: 1, ValidFor: model.Duration(-time.Hour)},
			"valid_for under 1s":  {Count: 1, ValidFor: model.Duration(time.Millisecond)}, // stored as 0: no limit
			"rebind limit 1001":   {Count: 1, RebindLimit: intp(1001)},
			"negative rebinds":    {Count: 1, RebindLimit: intp(-1)},
			"expires in the past": {Count: 1, ExpiresAt: f.now.Add(-time.Minute)},
			"long group":          {Count: 1, Group: strings.Repeat("g", 64)},
			"long batch":          {Count: 1, Batch: strings.Repeat("b", 64)},
			"bad prefix":          {Count: 1, Prefix: "no spaces!"},
		}
		for what, spec := range bad {
			if _, err := f.book.Generate(ctx, spec, "admin"); alloc.KindOf(err) != alloc.KindInvalid {
				t.Errorf("%s: %v, want an invalid request", what, err)
			}
		}
		if cs, err := f.st.CodeList(ctx, store.CodeFilter{}); err != nil || len(cs) != 0 {
			t.Fatalf("refused batches left %d codes (%v)", len(cs), err)
		}
		out := f.generate(t, codebook.Spec{Count: 5, Group: "spring"})
		seen := map[string]bool{}
		for _, display := range out {
			c := f.code(t, display)
			if seen[display] || c.MaxUses != 1 || c.RebindLimit != 3 || c.Status != model.CodeUnused || c.Group != "spring" ||
				c.Batch != f.now.Format("20060102-150405") {
				t.Fatalf("code %s: %+v (seen %v)", display, c, seen[display])
			}
			seen[display] = true
		}
		h, err := f.st.HistoryList(ctx, store.HistoryFilter{Action: model.ActCodesCreated})
		if err != nil || len(h) != 1 || h[0].Actor != "admin" || !strings.Contains(h[0].Reason, `5 codes, batch `+f.now.Format("20060102-150405")+`, group "spring"`) {
			t.Fatalf("history %+v %v, want one codes.created row", h, err)
		}
		out = f.generate(t, codebook.Spec{Count: 1, MaxUses: 4, RebindLimit: intp(0), Batch: "b1", Prefix: "VIP"})
		if c := f.code(t, out[0]); c.MaxUses != 4 || c.RebindLimit != 0 || c.Batch != "b1" || !strings.HasPrefix(out[0], "VIP") {
			t.Fatalf("explicit spec: %s %+v", out[0], c)
		}
	})
}

// Disabling a code makes the runtime refuse it; enabling gives the status
// the code's state implies (unused, bound, or expired when its time is up);
// every change is a code.status row from → to.
func TestSetStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := open(t, d)
		f.teams(t, 1, 5)
		cs := f.generate(t, codebook.Spec{Count: 2, ValidFor: model.Duration(time.Hour)})
		if _, err := f.book.SetStatus(ctx, "not a code", model.CodeDisabled, "admin"); alloc.KindOf(err) != alloc.KindInvalid {
			t.Fatalf("malformed code: %v, want invalid", err)
		}
		if _, err := f.book.SetStatus(ctx, codes.New(""), model.CodeDisabled, "admin"); alloc.KindOf(err) != alloc.KindNotFound {
			t.Fatalf("unknown code: %v, want not found", err)
		}
		if _, err := f.book.SetStatus(ctx, cs[0], "frozen", "admin"); alloc.KindOf(err) != alloc.KindInvalid {
			t.Fatalf("unknown status: %v, want invalid", err)
		}
		c, err := f.book.SetStatus(ctx, cs[0], model.CodeDisabled, "admin")
		if err != nil || c.Status != model.CodeDisabled {
			t.Fatalf("disable: %+v %v", c, err)
		}
		if _, err := f.rt.Redeem(ctx, "ann@example.com", cs[0], "t"); !errors.Is(err, alloc.ErrCodeDisabled) {
			t.Fatalf("redeem of a disabled code: %v, want ErrCodeDisabled", err)
		}
		if c, err = f.book.SetStatus(ctx, cs[0], codebook.Enabled, "admin"); err != nil || c.Status != model.CodeUnused {
			t.Fatalf("enable an unused code: %+v %v, want unused", c, err)
		}
		if _, err := f.rt.Redeem(ctx, "ann@example.com", cs[0], "t"); err != nil {
			t.Fatalf("redeem after enabling: %v", err)
		}
		if _, err := f.book.SetStatus(ctx, cs[0], model.CodeDisabled, "admin"); err != nil {
			t.Fatal(err)
		}
		if c, err = f.book.SetStatus(ctx, cs[0], codebook.Enabled, "admin"); err != nil || c.Status != model.CodeBound || c.BoundEmail != "ann@example.com" {
			t.Fatalf("enable a bound code: %+v %v, want bound to ann", c, err)
		}
		h, err := f.st.HistoryList(ctx, store.HistoryFilter{CodeID: c.ID, Action: model.ActCodeStatus})
		if err != nil || len(h) != 4 || h[0].From != string(model.CodeDisabled) || h[0].To != string(model.CodeBound) ||
			h[3].From != string(model.CodeUnused) || h[3].To != string(model.CodeDisabled) || h[0].Actor != "admin" {
			t.Fatalf("code.status rows %+v %v", h, err)
		}
		// Disabled, then its time runs out: enabling it says expired.
		if _, err := f.book.SetStatus(ctx, cs[0], model.CodeDisabled, "admin"); err != nil {
			t.Fatal(err)
		}
		f.advance(2 * time.Hour)
		if c, err = f.book.SetStatus(ctx, cs[0], codebook.Enabled, "admin"); err != nil || c.Status != model.CodeExpired {
			t.Fatalf("enable a code past its end: %+v %v, want expired", c, err)
		}
	})
}

// A code whose time is up ends: its seat is released (removal enqueued,
// history rows), a member still waiting on it leaves the queue as failed,
// and a seat whose email holds another valid code carries over to it with
// nobody removed. Running it again ends nothing more.
func TestExpireDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := open(t, d)
		f.teams(t, 1, 2)
		short := f.generate(t, codebook.Spec{Count: 3, ValidFor: model.Duration(time.Hour)})
		long := f.generate(t, codebook.Spec{Count: 1, ValidFor: model.Duration(48 * time.Hour)})
		redeem := func(email, code string) alloc.SeatStatus {
			t.Helper()
			st, err := f.rt.Redeem(ctx, email, code, "t")
			if err != nil {
				t.Fatalf("redeem %s: %v", email, err)
			}
			return st
		}
		redeem("gone@example.com", short[0])  // seat, then released
		redeem("stays@example.com", short[1]) // seat, carried to its long code
		redeem("stays@example.com", long[0])  // the same seat, second code
		waiting := redeem("wait@example.com", short[2])
		if waiting.State != model.TeamSeatQueued {
			t.Fatalf("third member on a two-seat team: %+v, want queued", waiting)
		}
		if n, err := f.book.ExpireDue(ctx); err != nil || n != 0 {
			t.Fatalf("expiry before any end: %d %v", n, err)
		}
		f.advance(time.Hour + time.Minute)
		if n, err := f.book.ExpireDue(ctx); err != nil || n != 3 {
			t.Fatalf("expiry after an hour ended %d codes (%v), want 3", n, err)
		}
		for _, c := range short {
			if got := f.code(t, c); got.Status != model.CodeExpired {
				t.Fatalf("short code %+v, want expired", got)
			}
		}
		if got := f.code(t, long[0]); got.Status != model.CodeBound {
			t.Fatalf("long code %+v, want still bound", got)
		}
		seatOf := func(email string) model.Seat {
			t.Helper()
			m, err := f.st.MemberGetByExternal(ctx, model.KindTeam, email)
			if err != nil {
				t.Fatal(err)
			}
			seats, err := f.st.SeatList(ctx, store.SeatFilter{MemberID: m.ID})
			if err != nil || len(seats) != 1 {
				t.Fatalf("%s seats %+v %v, want one", email, seats, err)
			}
			return seats[0]
		}
		gone := seatOf("gone@example.com")
		if gone.State != model.SeatReleasing {
			t.Fatalf("expired code's seat %s, want releasing", gone.State)
		}
		if got := f.removed.list(); len(got) != 1 || got[0] != gone.ID {
			t.Fatalf("removals enqueued %v, want only seat %d", got, gone.ID)
		}
		stays := seatOf("stays@example.com")
		if stays.State == model.SeatReleasing || stays.CodeID != f.code(t, long[0]).ID {
			t.Fatalf("seat of the member with a second code: %+v, want kept and resting on the long code", stays)
		}
		if h, err := f.st.HistoryList(ctx, store.HistoryFilter{Member: "stays@example.com", Action: model.ActSeatCarried}); err != nil || len(h) != 1 {
			t.Fatalf("seat.carried rows %+v %v, want 1", h, err)
		}
		if h, err := f.st.HistoryList(ctx, store.HistoryFilter{Member: "gone@example.com", Action: model.ActRelease}); err != nil || len(h) != 1 ||
			!strings.Contains(h[0].Reason, "expired") {
			t.Fatalf("release.started rows %+v %v", h, err)
		}
		m, err := f.st.MemberGetByExternal(ctx, model.KindTeam, "wait@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.QueueGet(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the waiting member is still queued (%v)", err)
		}
		if m.State != model.MemberFailed {
			t.Fatalf("waiting member %s, want failed", m.State)
		}
		if n, err := f.book.ExpireDue(ctx); err != nil || n != 0 {
			t.Fatalf("second expiry run ended %d (%v), want 0", n, err)
		}
	})
}

// A code that ends while its seat is moving (a paid rebind, the new seat
// not yet active) cancels the move, gives the rebind back, and releases
// both the seat being left and the one being moved to.
func TestExpireDueCancelsAPendingMove(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := open(t, d)
		f.teams(t, 2, 2)
		cs := f.generate(t, codebook.Spec{Count: 1, ValidFor: model.Duration(time.Hour)})
		if _, err := f.rt.Redeem(ctx, "mover@example.com", cs[0], "t"); err != nil {
			t.Fatal(err)
		}
		res, err := f.rt.Rebind(ctx, "mover@example.com", cs[0], "t")
		if err != nil || res.Free || res.RebindCount != 1 {
			t.Fatalf("paid rebind: %+v %v", res, err)
		}
		c := f.code(t, cs[0])
		seats, err := f.st.SeatsByCode(ctx, c.ID)
		if err != nil || len(seats) != 2 {
			t.Fatalf("seats on the code during the move: %+v %v, want the old and the new", seats, err)
		}
		f.advance(2 * time.Hour)
		if n, err := f.book.ExpireDue(ctx); err != nil || n != 1 {
			t.Fatalf("expiry: %d %v", n, err)
		}
		if c = f.code(t, cs[0]); c.RebindCount != 0 || c.Status != model.CodeExpired {
			t.Fatalf("code after expiry %+v, want expired with the rebind given back", c)
		}
		for _, seat := range seats {
			got, err := f.st.SeatGet(ctx, seat.ID)
			if err != nil || got.State != model.SeatReleasing {
				t.Fatalf("seat %d: %+v %v, want releasing", seat.ID, got, err)
			}
		}
		for _, act := range []string{model.ActMoveCancelled, model.ActRebindRefunded} {
			if h, err := f.st.HistoryList(ctx, store.HistoryFilter{CodeID: c.ID, Action: act}); err != nil || len(h) != 1 {
				t.Fatalf("%s rows %+v %v, want 1", act, h, err)
			}
		}
		if got := f.removed.list(); len(got) != 2 {
			t.Fatalf("removals enqueued %v, want both seats", got)
		}
	})
}
