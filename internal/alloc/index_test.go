package alloc_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A stale index keeps serving while a fresh one is built in the background;
// the fresh one sees what another replica changed in the database.
func TestIndexRefreshesInBackground(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	svc := alloc.New(st, storetest.NoJobs{}, nil)
	svc.IndexTTL = 50 * time.Millisecond
	one := 1
	if _, err := pooladmin.New(svc.Store(), svc).Create(ctx, pooladmin.Input{Name: "a", Kind: model.KindServer, Capacity: &one, Provider: []byte(`{"type":"sim"}`)}, "t"); err != nil {
		t.Fatal(err)
	}
	file := func(id string) []alloc.AccountFile {
		return []alloc.AccountFile{{ID: id, FileName: id + ".session", Data: []byte("x")}}
	}
	out, err := svc.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: file("x1")})
	if err != nil || out[0].Pool != "a" {
		t.Fatalf("first import: %+v %v", out, err)
	}
	// Another replica adds a pool behind this one's back.
	if _, err := st.PoolCreate(ctx, store.PoolCreateParams{Name: "b", Kind: model.KindServer, Capacity: 5, ProviderType: "sim", ProviderConfig: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	// This import finds the index stale: it is served the old one (pool a
	// is full → queued) and triggers a refresh...
	out, _ = svc.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: file("x2")})
	if out[0].Status != alloc.OutcomeQueued {
		t.Logf("second import already saw the fresh index: %+v", out[0])
	}
	// ...after which pool b is known.
	deadline := time.Now().Add(5 * time.Second)
	for i := 3; ; i++ {
		out, _ = svc.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: file(fmt.Sprintf("x%d", i))})
		if out[0].Pool == "b" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out[0].Pool != "b" {
		t.Fatalf("fresh index never arrived: %+v", out[0])
	}
}

// Another replica's release makes this replica's index fuller than the
// database. A placement that finds no room by the index, and a drain, check
// the database before they queue anyone or leave anyone waiting.
func TestStaleFullIndexSeesRoomFromTheDatabase(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	one := 1
	file := func(id string) []alloc.AccountFile {
		return []alloc.AccountFile{{ID: id, FileName: id + ".session", Data: []byte("x")}}
	}
	this, other := alloc.New(st, storetest.NoJobs{}, nil), alloc.New(st, storetest.NoJobs{}, nil)
	if _, err := pooladmin.New(this.Store(), this).Create(ctx, pooladmin.Input{Name: "a", Kind: model.KindServer, Capacity: &one, Provider: []byte(`{"type":"sim"}`)}, "t"); err != nil {
		t.Fatal(err)
	}
	releaseElsewhere := func(seatID int64) {
		t.Helper()
		if err := other.Release(ctx, seatID, "t"); err != nil {
			t.Fatal(err)
		}
		if err := other.Released(ctx, seatID); err != nil {
			t.Fatal(err)
		}
	}

	// A placement: the index says a is full, the database has room.
	out, err := this.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: file("x1")})
	if err != nil || out[0].Pool != "a" {
		t.Fatalf("first import: %+v %v", out, err)
	}
	releaseElsewhere(out[0].SeatID)
	out, err = this.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: file("x2")})
	if err != nil || out[0].Status != alloc.OutcomePlaced || out[0].Pool != "a" {
		t.Fatalf("placed from a stale index: %+v %v, want placed in a", out, err)
	}
	seat2 := out[0].SeatID

	// A drain: x3 waits while a is full; the other replica releases x2.
	out, err = this.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: file("x3")})
	if err != nil || out[0].Status != alloc.OutcomeQueued {
		t.Fatalf("x3: %+v %v, want queued", out, err)
	}
	releaseElsewhere(seat2)
	n, err := this.DrainQueue(ctx, model.KindServer)
	if err != nil || n != 1 {
		t.Fatalf("drain placed %d (%v), want 1: the index missed the room the other replica made", n, err)
	}
}

// Two replicas packing the same pools: each one's index falls behind what
// the other placed. Nobody may be queued while a pool has room.
func TestTwoReplicasPackingNeverQueueWithRoom(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, store.Postgres)
	var reps []*alloc.Service
	for range 2 {
		reps = append(reps, alloc.New(storetest.OpenDSN(t, dsn), storetest.NoJobs{}, nil))
	}
	ten := 10
	for i := range 100 {
		if _, err := pooladmin.New(reps[0].Store(), reps[0]).Create(ctx, pooladmin.Input{Name: fmt.Sprintf("p%03d", i), Kind: model.KindServer, Capacity: &ten, Provider: []byte(`{"type":"sim"}`)}, "t"); err != nil {
			t.Fatal(err)
		}
	}
	// 4 clients x 2 batches x 100 accounts = 800 of the 1000 seats.
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for c := range 4 {
		svc := reps[c%2]
		wg.Go(func() {
			for b := range 2 {
				files := make([]alloc.AccountFile, 100)
				for i := range files {
					id := fmt.Sprintf("c%d-b%d-%03d", c, b, i)
					files[i] = alloc.AccountFile{ID: id, FileName: id + ".session", Data: []byte("x")}
				}
				out, err := svc.ImportAccounts(ctx, alloc.ImportParams{Script: fmt.Sprintf("s%d-%d", c, b), Files: files})
				if err != nil {
					errs <- err
					return
				}
				for _, o := range out {
					if o.Status != alloc.OutcomePlaced {
						errs <- fmt.Errorf("%s %s with 200 seats free: %s", o.Member.ExternalID, o.Status, o.Reason)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var used int
	if err := reps[0].Store().DB.QueryRowContext(ctx, `SELECT SUM(used) FROM pools`).Scan(&used); err != nil || used != 800 {
		t.Fatalf("used %d (%v), want 800", used, err)
	}
}

// drainCounter is an Enqueuer that counts the drains enqueued.
type drainCounter struct {
	storetest.NoJobs
	drains atomic.Int32
}

func (d *drainCounter) DrainQueue(context.Context, *store.Tx, model.Kind) error {
	d.drains.Add(1)
	return nil
}

// closeDeadline is a context whose deadline is always a microsecond away
// but which never ends: the drain must see it has no time for another
// chunk, without the database calls failing.
type closeDeadline struct{ context.Context }

func (closeDeadline) Deadline() (time.Time, bool) { return time.Now().Add(time.Microsecond), true }

// A drain short of time hands the rest of the queue to a fresh drain after
// a chunk, instead of failing with the job's deadline and waiting out
// River's backoff.
func TestDrainOutOfTimeHandsOverTheRest(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	jobs := &drainCounter{}
	svc := alloc.New(st, jobs, nil)
	zero := 0
	p, err := pooladmin.New(svc.Store(), svc).Create(ctx, pooladmin.Input{Name: "a", Kind: model.KindServer, Capacity: &zero, Provider: []byte(`{"type":"sim"}`)}, "t")
	if err != nil {
		t.Fatal(err)
	}
	files := make([]alloc.AccountFile, 250)
	for i := range files {
		id := fmt.Sprintf("q%03d", i)
		files[i] = alloc.AccountFile{ID: id, FileName: id + ".session", Data: []byte("x")}
	}
	if _, err := svc.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: files}); err != nil {
		t.Fatal(err)
	}
	big := 1000
	if _, err := pooladmin.New(svc.Store(), svc).Update(ctx, p.ID, pooladmin.Patch{Capacity: &big}, "t"); err != nil {
		t.Fatal(err)
	}
	before := jobs.drains.Load()
	n, err := svc.DrainQueue(closeDeadline{ctx}, model.KindServer)
	if err != nil || n != 100 {
		t.Fatalf("drain placed %d (%v), want one chunk of 100 and no error", n, err)
	}
	if jobs.drains.Load() != before+1 {
		t.Fatalf("drains enqueued %d, want 1 for the rest", jobs.drains.Load()-before)
	}
	if n, err := svc.DrainQueue(ctx, model.KindServer); err != nil || n != 150 {
		t.Fatalf("the follow-up drain placed %d (%v), want the other 150", n, err)
	}
}
