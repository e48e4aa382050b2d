package alloc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// jobsStub is an Enqueuer that enqueues nothing; with failMany set,
// DeliverMany fails.
type jobsStub struct {
	storetest.NoJobs
	failMany atomic.Bool
}

func (j *jobsStub) DeliverMany(context.Context, *store.Tx, []int64) error {
	if j.failMany.Load() {
		return errors.New("enqueue refused (test)")
	}
	return nil
}

func newTestService(t *testing.T, d store.Dialect, jobs Enqueuer) *Service {
	t.Helper()
	return New(storetest.Open(t, d), jobs, nil)
}

// indexView is what callers can observe of an index over these pools.
func indexView(ix *placement.Index, pools []model.Pool, keys []string) []string {
	var out []string
	for _, p := range pools {
		ip, ok := ix.Pool(p.ID)
		out = append(out, fmt.Sprintf("%d %v used=%d cap=%d %s room=%d", p.ID, ok, ip.Used, ip.Capacity, ip.Status, ix.Room(p.ID)))
		for _, k := range keys {
			out = append(out, fmt.Sprintf("%d %s=%d", p.ID, k, ix.AffinityCount(p.ID, k)))
		}
	}
	for _, k := range keys {
		d := ix.Place(placement.Request{Kind: pools[0].Kind, AffinityKey: k})
		out = append(out, d.Explanation.String())
	}
	return out
}

// liveIndex returns the view of the placer's index now, and the view of an
// index built afresh from the database.
func liveAndFresh(t *testing.T, s *Service, kind model.Kind, pools []model.Pool, keys []string) (live, fresh []string) {
	t.Helper()
	p := s.placers[kind]
	p.mu.Lock()
	live = indexView(p.ix, pools, keys)
	p.mu.Unlock()
	ix, err := s.buildIndex(context.Background(), kind, "test")
	if err != nil {
		t.Fatal(err)
	}
	return live, indexView(ix, pools, keys)
}

func accountFiles(prefix string, n int) []AccountFile {
	files := make([]AccountFile, n)
	for i := range files {
		id := fmt.Sprintf("%s%04d", prefix, i)
		files[i] = AccountFile{ID: id, FileName: id + ".session", Data: []byte("x")}
	}
	return files
}

// A transaction that fails half way through a chunk rolls back; the index,
// which it changed as it placed, ends equal to one built afresh from the
// database, and is never thrown away (no rebuild).
func TestRollbackLeavesIndexAsFreshBuild(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			jobs := &jobsStub{}
			s := newTestService(t, d, jobs)
			pools := createPools(t, s, model.KindServer, 8, 5, nil)
			keys := []string{"A", "B"}
			if _, err := s.ImportAccounts(ctx, ImportParams{Script: "A", Files: accountFiles("a", 12)}); err != nil {
				t.Fatal(err)
			}
			builds := s.IndexBuilds()
			jobs.failMany.Store(true) // the chunk's 20 placements are made, then its commit fails
			if _, err := s.ImportAccounts(ctx, ImportParams{Script: "B", Files: accountFiles("b", 20)}); err == nil {
				t.Fatal("import with a failing enqueue succeeded")
			}
			jobs.failMany.Store(false)
			if got := s.IndexBuilds(); got != builds {
				t.Fatalf("index built %d more times after an error, want 0", got-builds)
			}
			live, fresh := liveAndFresh(t, s, model.KindServer, pools, keys)
			if !reflect.DeepEqual(live, fresh) {
				t.Fatalf("index after rollback:\n%v\nfresh from the database:\n%v", live, fresh)
			}
			// And it goes on placing correctly: the retry places all 20.
			out, err := s.ImportAccounts(ctx, ImportParams{Script: "B", Files: accountFiles("b", 20)})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out {
				if o.Status != OutcomePlaced {
					t.Fatalf("%s %s after the retry: %s", o.Member.ExternalID, o.Status, o.Reason)
				}
			}
			live, fresh = liveAndFresh(t, s, model.KindServer, pools, keys)
			if !reflect.DeepEqual(live, fresh) {
				t.Fatalf("index after the retry:\n%v\nfresh:\n%v", live, fresh)
			}
		})
	}
}

// Calls that wait while a batch runs form the next batch: one transaction.
// The one that fails is rolled back alone — its rows and its index changes
// — and its neighbours commit (after the optimistic run failed, the batch
// runs again with savepoints).
func TestGroupCommitOneCallFails(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, d, &jobsStub{})
			pools := createPools(t, s, model.KindServer, 1, 10, nil)
			pool := pools[0]
			p := s.placers[model.KindServer]

			// A first call holds the placer until the others wait.
			started, release := make(chan struct{}), make(chan struct{})
			blocker := make(chan error, 1)
			go func() {
				blocker <- s.withIndex(ctx, model.KindServer, 1, func(context.Context, *store.Tx, *placement.Index) error {
					close(started)
					<-release
					return nil
				})
			}()
			<-started
			const n = 5
			var (
				mu     sync.Mutex
				lastTx = make([]*store.Tx, n) // the transaction of each call's last run
				runs   = make([]int, n)
				wg     sync.WaitGroup
			)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					errs[i] = s.withIndex(ctx, model.KindServer, 1, func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
						mu.Lock()
						lastTx[i] = tx
						runs[i]++
						mu.Unlock()
						if err := tx.HistoryAdd(ctx, model.HistoryEntry{Member: fmt.Sprintf("call-%d", i), Action: "test"}); err != nil {
							return err
						}
						if ok, err := tx.PoolReserve(ctx, pool.ID); err != nil || !ok {
							return fmt.Errorf("reserve: %v %v", ok, err)
						}
						ix.Commit(pool.ID, "K")
						if i == 2 {
							return errors.New("call 2 fails")
						}
						return nil
					})
				})
			}
			waitPending(t, s, model.KindServer, n)
			close(release)
			wg.Wait()
			if err := <-blocker; err != nil {
				t.Fatal(err)
			}
			// One batch: an optimistic run that call 2 ended, then a run with
			// a savepoint around each call, all in one transaction.
			for i := range n {
				if lastTx[i] != lastTx[0] || runs[i] > 2 {
					t.Fatalf("call %d ran %d times, last in another transaction than call 0's: not one batch", i, runs[i])
				}
			}
			for i, err := range errs {
				if (i == 2) != (err != nil) {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			hist, err := s.st.HistoryList(ctx, store.HistoryFilter{Action: "test"})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, h := range hist {
				got[h.Member] = true
			}
			if len(got) != n-1 || got["call-2"] {
				t.Fatalf("history of the batch: %v, want every call but call-2", got)
			}
			fresh, err := s.st.PoolGet(ctx, pool.ID)
			if err != nil || fresh.Used != n-1 {
				t.Fatalf("pool used %d (%v), want %d", fresh.Used, err, n-1)
			}
			p.mu.Lock()
			ip, _ := p.ix.Pool(pool.ID)
			key := p.ix.AffinityCount(pool.ID, "K")
			p.mu.Unlock()
			if ip.Used != n-1 || key != n-1 {
				t.Fatalf("index: used %d, key K %d; want %d each (the failed call's change undone)", ip.Used, key, n-1)
			}
		})
	}
}

// A wrong code, a code bound to someone else and a malformed address are
// refused on the read path: no placer call, no index build, no row written.
func TestRefusedRedeemTouchesNothing(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, store.SQLite, &jobsStub{})
	createPools(t, s, model.KindTeam, 3, 2, nil)
	codes := newCodes(t, s, 3)
	if _, err := s.Redeem(ctx, "first@example.com", codes[0], "t"); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		if err := s.st.DB.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM history) + (SELECT COUNT(*) FROM members) + (SELECT COUNT(*) FROM seats)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	rows, builds, calls := count(), s.IndexBuilds(), s.PlacerCalls()
	wrong := []struct{ email, code string }{
		{"x@example.com", "AAAA-BBBB-CCCC-DDDD-EEEE"},
		{"x@example.com", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"},
		{"someone-else@example.com", codes[0]}, // bound to first@
		{"not an address", codes[1]},
		{"x@example.com", "short"},
	}
	for range 20 {
		for _, w := range wrong {
			if _, err := s.Redeem(ctx, w.email, w.code, "t"); err == nil {
				t.Fatalf("redeem %q %q succeeded", w.email, w.code)
			}
		}
	}
	// A repeat of a redeem that succeeded is answered from the read path too.
	if res, err := s.Redeem(ctx, "first@example.com", codes[0], "t"); err != nil || res.Pool == "" {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	if got := count(); got != rows {
		t.Fatalf("refused requests wrote %d rows", got-rows)
	}
	if got := s.IndexBuilds(); got != builds {
		t.Fatalf("refused requests cost %d index builds", got-builds)
	}
	if got := s.PlacerCalls(); got != calls {
		t.Fatalf("refused requests made %d placer calls, want 0", got-calls)
	}
	// The next valid redeem is placed with the same index.
	if res, err := s.Redeem(ctx, "second@example.com", codes[1], "t"); err != nil || res.State != "pending" {
		t.Fatalf("valid redeem after the refusals: %+v %v", res, err)
	}
	if got := s.IndexBuilds(); got != builds {
		t.Fatalf("index rebuilt %d times", got-builds)
	}
}

// Two replicas, each with its own placer batching its redeems, race for
// the last seats on one PostgreSQL database: the database guard decides,
// nobody gets a second seat, no seat is overbooked, the rest queue in one
// order. (The position a replica answers is counted in its own
// transaction, so two replicas' answers can share a number; the queue
// itself has one order, which the status page reads.)
func TestTwoReplicasPlacersRaceForLastSeats(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, store.Postgres)
	var reps []*Service
	for range 2 {
		reps = append(reps, New(storetest.OpenDSN(t, dsn), &jobsStub{}, nil))
	}
	createPools(t, reps[0], model.KindTeam, 4, 5, nil) // 20 seats
	const users = 80
	codes := newCodes(t, reps[0], users)
	res := make([]SeatStatus, users)
	errs := make([]error, users)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			res[i], errs[i] = reps[i%2].Redeem(ctx, fmt.Sprintf("u%02d@example.com", i), codes[i], "t")
		})
	}
	wg.Wait()
	seated, positions := 0, map[int]bool{}
	for i := range users {
		switch {
		case errs[i] != nil:
			t.Fatalf("user %d: %v", i, errs[i])
		case res[i].State == "pending":
			seated++
		case res[i].State == "queued":
			st, err := reps[0].Status(ctx, fmt.Sprintf("u%02d@example.com", i), codes[i])
			if err != nil || st.State != "queued" {
				t.Fatalf("user %d status: %+v %v", i, st, err)
			}
			positions[st.Position] = true
		default:
			t.Fatalf("user %d: %+v", i, res[i])
		}
	}
	if seated != 20 || len(positions) != users-20 {
		t.Fatalf("%d seated, %d distinct queue positions; want 20 and %d", seated, len(positions), users-20)
	}
	for pos := 1; pos <= users-20; pos++ {
		if !positions[pos] {
			t.Fatalf("queue position %d missing: %v", pos, positions)
		}
	}
	var used, live, members int
	db := reps[0].st.DB
	if err := db.QueryRowContext(ctx, `SELECT (SELECT SUM(used) FROM pools), (SELECT COUNT(*) FROM seats WHERE state IN ('provisioning','active','reserved')),
		(SELECT COUNT(DISTINCT member_id) FROM seats)`).Scan(&used, &live, &members); err != nil {
		t.Fatal(err)
	}
	if used != 20 || live != 20 || members != 20 {
		t.Fatalf("used %d, live seats %d, members with seats %d; want 20 each", used, live, members)
	}
	var over int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pools WHERE used > capacity`).Scan(&over); err != nil || over != 0 {
		t.Fatalf("%d pools overbooked (%v)", over, err)
	}
}

// holdPlacer makes the kind's placer busy until release is closed, and
// waitPending waits until n calls wait for the next batch: the calls
// submitted meanwhile form one batch.
func holdPlacer(t *testing.T, s *Service, kind model.Kind) (release func()) {
	t.Helper()
	started, done := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.withIndex(context.Background(), kind, 1, func(context.Context, *store.Tx, *placement.Index) error {
			close(started)
			<-done
			return nil
		})
	}()
	<-started
	return func() {
		close(done)
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

func waitPending(t *testing.T, s *Service, kind model.Kind, n int) {
	t.Helper()
	p := s.placers[kind]
	for deadline := time.Now().Add(10 * time.Second); ; {
		p.qmu.Lock()
		waiting := len(p.pending)
		p.qmu.Unlock()
		if waiting == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls waiting, want %d", waiting, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// One batch of redeems: the fresh ones are placed set-wise while there is
// room; the rest — one code sent by two e-mails, one e-mail twice, users
// beyond the room — run call by call after, with the answers they would
// get alone. Capacity, code uses and history agree.
func TestRedeemBatchSetWise(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, d, &jobsStub{})
			createPools(t, s, model.KindTeam, 2, 3, nil) // 6 seats
			codes := newCodes(t, s, 9)
			type req struct{ email, code string }
			reqs := []req{
				{"u0@example.com", codes[0]}, {"u1@example.com", codes[1]}, {"u2@example.com", codes[2]},
				{"u3@example.com", codes[3]}, {"u4@example.com", codes[4]},
				{"twin@example.com", codes[0]}, // u0's code: one of the two gets it
				{"u1@example.com", codes[5]},   // u1 again, with another code
				{"u6@example.com", codes[6]}, {"u7@example.com", codes[7]}, {"u8@example.com", codes[8]},
			}
			release := holdPlacer(t, s, model.KindTeam)
			res := make([]SeatStatus, len(reqs))
			errs := make([]error, len(reqs))
			var wg sync.WaitGroup
			for i, r := range reqs {
				wg.Go(func() { res[i], errs[i] = s.Redeem(ctx, r.email, r.code, "t") })
			}
			waitPending(t, s, model.KindTeam, len(reqs))
			release()
			wg.Wait()
			if s.bulkRedeems.Load() == 0 {
				t.Fatal("no redeem was placed set-wise")
			}
			seated, queued, refused := map[string]bool{}, map[string]bool{}, 0
			for i, r := range reqs {
				switch {
				case errs[i] != nil:
					if !errors.Is(errs[i], ErrCodeNotValid) || (r.code != codes[0]) {
						t.Fatalf("%s %s: %v", r.email, r.code, errs[i])
					}
					refused++
				case res[i].State == "pending":
					seated[r.email] = true
				case res[i].State == "queued":
					queued[r.email] = true
				default:
					t.Fatalf("%s: %+v", r.email, res[i])
				}
			}
			// 6 seats for 8 e-mails (u0…u8 but u5, and twin; u0 or twin is
			// refused the code the other took; u1's second request answers
			// what its first got).
			if len(seated) != 6 || refused != 1 || len(queued) != 2 {
				t.Fatalf("seated %v, queued %v, refused %d; want 6, 2, 1", seated, queued, refused)
			}
			for e := range seated {
				if queued[e] {
					t.Fatalf("%s answered both seated and queued", e)
				}
			}
			var used, live, multi, codeUses, usedHist int
			db := s.st.DB
			if err := db.QueryRowContext(ctx, `SELECT (SELECT SUM(used) FROM pools),
				(SELECT COUNT(*) FROM seats WHERE state IN ('provisioning','active','reserved')),
				(SELECT COUNT(*) FROM (SELECT member_id FROM seats GROUP BY member_id HAVING COUNT(*) > 1) x),
				(SELECT SUM(used_count) FROM codes),
				(SELECT COUNT(*) FROM history WHERE action = $1)`, model.ActCodeUsed).Scan(&used, &live, &multi, &codeUses, &usedHist); err != nil {
				t.Fatal(err)
			}
			if used != 6 || live != 6 || multi != 0 {
				t.Fatalf("used %d, live seats %d, members with two seats %d; want 6, 6, 0", used, live, multi)
			}
			if codeUses != usedHist {
				t.Fatalf("codes count %d uses, history %d code.used rows", codeUses, usedHist)
			}
			// Every answer is what the status page says now.
			for i, r := range reqs {
				if errs[i] != nil {
					continue
				}
				st, err := s.Status(ctx, r.email, r.code)
				if err != nil || st.State != res[i].State || st.Pool != res[i].Pool {
					t.Fatalf("%s: answered %+v, status now %+v (%v)", r.email, res[i], st, err)
				}
			}
		})
	}
}
