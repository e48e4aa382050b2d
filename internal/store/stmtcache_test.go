package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// openCache opens a SQLite store with the statement cache on (limit > 0) or
// off (limit 0).
func openCache(t testing.TB, limit int) *store.Store {
	t.Helper()
	s := storetest.Open(t, store.SQLite)
	s.SetStmtCacheLimit(limit)
	return s
}

func hist(member string) model.HistoryEntry {
	return model.HistoryEntry{Member: member, Action: model.ActPlaced, To: "w", Reason: "r", Actor: "test"}
}

// TestStmtCacheReuse: a query is prepared on the pool once and then reused
// by later calls, by transactions and by the read pool's own cache.
func TestStmtCacheReuse(t *testing.T) {
	ctx := context.Background()
	s := openCache(t, 1000)
	p := newPool(t, s, "w", 5)

	w0, _ := s.StmtCacheStats()
	for range 5 {
		if got, err := s.PoolGet(ctx, p.ID); err != nil || got.Name != "w" {
			t.Fatalf("PoolGet: %+v %v", got, err)
		}
	}
	w1, _ := s.StmtCacheStats()
	if n := w1.Prepares - w0.Prepares; n != 1 {
		t.Fatalf("5 PoolGet prepared %d statements, want 1", n)
	}
	if n := w1.Hits - w0.Hits; n != 4 {
		t.Fatalf("5 PoolGet: %d hits, want 4", n)
	}

	// PoolGet is cached on the pool: a transaction binds it, prepares
	// nothing. HistoryAdd is new: the first transaction prepares it on its
	// own connection (once, for three runs) and leaves it pending; the
	// next InTx prepares it on the pool; later transactions prepare nothing.
	for i := range 4 {
		before, _ := s.StmtCacheStats()
		err := s.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.PoolGet(ctx, p.ID); err != nil {
				return err
			}
			for j := range 3 {
				if err := tx.HistoryAdd(ctx, hist(fmt.Sprintf("m%d-%d", i, j))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		after, _ := s.StmtCacheStats()
		prepares, txPrepares := after.Prepares-before.Prepares, after.TxPrepares-before.TxPrepares
		switch i {
		case 0:
			if prepares != 0 || txPrepares != 1 || after.Pending != 1 {
				t.Fatalf("tx %d: %d prepares, %d tx prepares, %d pending; want 0, 1, 1", i, prepares, txPrepares, after.Pending)
			}
		case 1:
			if prepares != 1 || txPrepares != 0 || after.Pending != 0 {
				t.Fatalf("tx %d: %d prepares, %d tx prepares, %d pending; want 1, 0, 0", i, prepares, txPrepares, after.Pending)
			}
		default:
			if prepares != 0 || txPrepares != 0 || after.Pending != 0 {
				t.Fatalf("tx %d: %d prepares, %d tx prepares, %d pending; want none", i, prepares, txPrepares, after.Pending)
			}
		}
		if i > 0 && after.Hits-before.Hits != 4 {
			t.Fatalf("tx %d: %d hits, want 4", i, after.Hits-before.Hits)
		}
	}
	if h, err := s.HistoryList(ctx, store.HistoryFilter{Pool: "w"}); err != nil || len(h) != 12 {
		t.Fatalf("history: %d rows, %v", len(h), err)
	}

	// The read pool has its own cache.
	_, r0 := s.StmtCacheStats()
	for range 10 {
		if _, err := s.Reader().PoolGet(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	_, r1 := s.StmtCacheStats()
	if r1.Prepares-r0.Prepares != 1 || r1.Hits-r0.Hits != 9 {
		t.Fatalf("read pool: %+v -> %+v", r0, r1)
	}
}

// TestStmtCacheLimit: no more than the limit of query strings is kept and
// queries past it run unprepared and still work; a large query (a list) is
// kept only from its second coming, and no more than 16 of them.
func TestStmtCacheLimit(t *testing.T) {
	ctx := context.Background()
	s := openCache(t, 3)
	p := newPool(t, s, "w", 5)
	var ids []int64
	for i := range 40 {
		m, _, err := s.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: fmt.Sprintf("m%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	for range 3 {
		if _, err := s.PoolGet(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PoolGetByName(ctx, "w"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MemberGet(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MemberGetByExternal(ctx, model.KindServer, "m01"); err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.HistoryAdd(ctx, hist("m01")) }); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := s.StmtCacheStats()
	if w.Cached+w.Pending > 3 || w.Cached != 3 || w.Bypassed == 0 {
		t.Fatalf("limit 3: %+v", w)
	}
	if h, err := s.HistoryList(ctx, store.HistoryFilter{Member: "m01"}); err != nil || len(h) != 3 {
		t.Fatalf("history past the limit: %d rows, %v", len(h), err)
	}

	// Large queries (over 32 arguments: lists) are cached from their second
	// coming on, at most 48 of them (stmtLargeLimit).
	s2 := openCache(t, 1000)
	ids = ids[:0]
	for i := range 100 {
		m, _, err := s2.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: fmt.Sprintf("m%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	claim := func(want int) {
		t.Helper()
		err := s2.InTx(ctx, func(tx *store.Tx) error {
			got, err := tx.MembersClaim(ctx, ids[:40]) // 40 ids, padded to 128 placeholders
			if err != nil || len(got) != want {
				return fmt.Errorf("claim: %d, %v; want %d", len(got), err, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	liveSeats := func(n int) {
		t.Helper()
		if seats, err := s2.LiveSeatsOf(ctx, ids[:n]); err != nil || len(seats) != 0 {
			t.Fatalf("live seats: %v %v", seats, err)
		}
	}
	st0, _ := s2.StmtCacheStats()
	claim(40)
	liveSeats(40)
	st1, _ := s2.StmtCacheStats()
	if st1.Cached != st0.Cached || st1.Pending != st0.Pending || st1.Large != 0 || st1.TxPrepares != st0.TxPrepares ||
		st1.Bypassed-st0.Bypassed != 2 {
		t.Fatalf("large queries cached the first time: %+v -> %+v", st0, st1)
	}
	claim(0)
	liveSeats(40)
	st2, _ := s2.StmtCacheStats()
	if st2.Large != 2 || st2.Pending != 1 || st2.TxPrepares-st1.TxPrepares != 1 || st2.Prepares-st1.Prepares != 1 {
		t.Fatalf("large queries not cached the second time: %+v -> %+v", st1, st2)
	}
	claim(0)
	liveSeats(40)
	st3, _ := s2.StmtCacheStats()
	if st3.Large != 2 || st3.Pending != 0 || st3.TxPrepares != st2.TxPrepares || st3.Prepares-st2.Prepares != 1 ||
		st3.Hits-st2.Hits != 2 {
		t.Fatalf("large queries not reused: %+v -> %+v", st2, st3)
	}
	for n := 33; n <= 100; n++ {
		liveSeats(n)
		liveSeats(n)
	}
	if st4, _ := s2.StmtCacheStats(); st4.Large != 48 {
		t.Fatalf("%d large queries kept, want 48: %+v", st4.Large, st4)
	}
}

// errorsSeen runs store calls that fail, or find nothing, on the pool, the
// read pool and in transactions, and describes every outcome.
func errorsSeen(t *testing.T, s *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	note := func(what string, err error) {
		out = append(out, fmt.Sprintf("%s: %v (not found %v, conflict %v)", what, err,
			errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict)))
	}
	newPool(t, s, "w", 1)
	for range 2 { // the second round runs cached statements
		_, err := s.PoolGet(ctx, 999)
		note("pool get", err)
		_, err = s.Reader().MemberGetByExternal(ctx, model.KindServer, "nobody")
		note("reader member", err)
		_, err = s.PoolCreate(ctx, store.PoolCreateParams{Name: "w", Kind: model.KindServer, ProviderType: "sim", ProviderConfig: []byte("{}")})
		note("duplicate pool", err)
		err = s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.SeatGet(ctx, 999)
			note("tx seat", err)
			_, err = tx.PoolCreate(ctx, store.PoolCreateParams{Name: "w", Kind: model.KindServer, ProviderType: "sim", ProviderConfig: []byte("{}")})
			note("tx duplicate pool", err)
			return nil
		})
		note("tx", err)
	}
	// A statement cached, then failing to prepare: its table is gone (and
	// the read pool refuses writes).
	for range 2 {
		note("notice", s.NoticeForget(ctx, 1, 7))
		note("reader notice", s.Reader().NoticeForget(ctx, 1, 7))
		err := s.InTx(ctx, func(tx *store.Tx) error { return tx.NoticeForget(ctx, 1, 7) })
		note("tx notice", err)
	}
	if _, err := s.DB.Exec(`DROP TABLE expiry_notices`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		note("no table", s.NoticeForget(ctx, 1, 7))
		note("reader no table", s.Reader().NoticeForget(ctx, 1, 7))
		err := s.InTx(ctx, func(tx *store.Tx) error { return tx.NoticeForget(ctx, 1, 7) })
		note("tx no table", err)
	}
	// A done context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := s.PoolGet(cctx, 1)
	note("canceled", err)
	err = s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.PoolGet(cctx, 1)
		note("tx canceled", err)
		_, err = tx.PoolGet(ctx, 1)
		note("tx after canceled call", err)
		return nil
	})
	note("tx", err)
	return out
}

// TestStmtCacheErrors: every error, sql.ErrNoRows included, is what it was
// without the cache.
func TestStmtCacheErrors(t *testing.T) {
	off := errorsSeen(t, openCache(t, 0))
	on := errorsSeen(t, openCache(t, 1000))
	for i := range max(len(on), len(off)) {
		var a, b string
		if i < len(off) {
			a = off[i]
		}
		if i < len(on) {
			b = on[i]
		}
		if a != b {
			t.Errorf("without cache: %s\n\twith cache:    %s", a, b)
		}
	}
	t.Logf("%d outcomes:\n%s", len(on), strings.Join(on, "\n"))
}

// TestStmtCacheRollback: a rolled-back transaction that prepared and ran
// statements leaves no rows and no open statement behind; after Close no
// SQLite statement is left unfinalized (else the connection would linger
// and keep the WAL file).
func TestStmtCacheRollback(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, store.SQLite)
	s, err := store.Open(ctx, dsn, storetest.Box(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newPool(t, s, "w", 5)
	if _, err := s.PoolGet(ctx, p.ID); err != nil { // cached on the pool
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for range 2 { // once preparing in the transaction, once from the pool
		err := s.InTx(ctx, func(tx *store.Tx) error {
			if ok, err := tx.PoolReserve(ctx, p.ID); !ok || err != nil {
				return fmt.Errorf("reserve: %v %v", ok, err)
			}
			if err := tx.HistoryAdd(ctx, hist("gone")); err != nil {
				return err
			}
			if _, err := tx.PoolGet(ctx, p.ID); err != nil {
				return err
			}
			if _, err := tx.PoolList(ctx, ""); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v", err)
		}
	}
	if got, _ := s.PoolGet(ctx, p.ID); got.Used != 0 {
		t.Fatalf("used %d after rollback", got.Used)
	}
	if h, _ := s.HistoryList(ctx, store.HistoryFilter{Member: "gone"}); len(h) != 0 {
		t.Fatalf("history after rollback: %+v", h)
	}
	// The write connection is free and its statements reset: a checkpoint
	// from the read pool is not blocked by any reader left open.
	if err := s.InTx(ctx, func(tx *store.Tx) error { _, err := tx.PoolReserve(ctx, p.ID); return err }); err != nil {
		t.Fatal(err)
	}
	var busy, logFrames, done int
	if err := s.DB.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil || busy != 0 {
		t.Fatalf("checkpoint: busy %d, %v", busy, err)
	}
	w, r := s.StmtCacheStats()
	if w.Cached == 0 || w.Pending != 0 {
		t.Fatalf("write cache %+v", w)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if w, r = s.StmtCacheStats(); w.Cached != 0 || r.Cached != 0 {
		t.Fatalf("statements kept after Close: %+v %+v", w, r)
	}
	if _, err := os.Stat(dsn + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WAL file still there after Close (a statement left unfinalized?): %v", err)
	}
	if _, err := s.PoolGet(ctx, p.ID); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("PoolGet after Close: %v", err)
	}
}

// TestStmtCacheConcurrent: writers in transactions, writers on the pool and
// readers share the caches (run with -race); both dialects, PostgreSQL
// without a cache.
func TestStmtCacheConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		p := newPool(t, s, "w", 1000)
		const workers, rounds = 6, 25
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					var err error
					switch w % 3 {
					case 0:
						err = s.InTx(ctx, func(tx *store.Tx) error {
							if ok, err := tx.PoolReserve(ctx, p.ID); !ok || err != nil {
								return fmt.Errorf("reserve: %v %v", ok, err)
							}
							return tx.HistoryAdd(ctx, hist(fmt.Sprintf("tx-%d-%d", w, i)))
						})
					case 1:
						err = s.HistoryAdd(ctx, hist(fmt.Sprintf("pool-%d-%d", w, i)))
						if err == nil {
							_, err = s.PoolGet(ctx, p.ID)
						}
					case 2:
						if _, err = s.Reader().PoolGet(ctx, p.ID); err == nil {
							_, err = s.Reader().HistoryList(ctx, store.HistoryFilter{Pool: "w", Limit: 5})
						}
						if _, e := s.Reader().MemberGetByExternal(ctx, model.KindServer, "nobody"); !errors.Is(e, store.ErrNotFound) {
							err = fmt.Errorf("member: %v", e)
						}
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		got, err := s.PoolGet(ctx, p.ID)
		if err != nil || got.Used != 2*rounds {
			t.Fatalf("used %d, want %d (%v)", got.Used, 2*rounds, err)
		}
		h, err := s.HistoryList(ctx, store.HistoryFilter{Pool: "w", Limit: 1000})
		if err != nil || len(h) != 4*rounds {
			t.Fatalf("history %d rows, want %d (%v)", len(h), 4*rounds, err)
		}
		wst, rst := s.StmtCacheStats()
		if d == store.Postgres {
			if wst != (store.StmtCacheStats{}) || rst != (store.StmtCacheStats{}) {
				t.Fatalf("PostgreSQL has a statement cache: %+v %+v", wst, rst)
			}
			return
		}
		if wst.Hits == 0 || rst.Hits == 0 || wst.Cached+wst.Pending > 20 {
			t.Fatalf("caches: write %+v, read %+v", wst, rst)
		}
	})
}

// BenchmarkStmtCache compares store calls on SQLite with the statement
// cache off and on:
//
//	go test -run '^$' -bench StmtCache -count 6 ./internal/store/
//
// PoolGet: a SELECT by primary key on the write pool. MemberGetByExternal:
// a SELECT by a unique index on the read pool. HistoryAdd: an INSERT, 100
// per transaction (ns/op is the transaction, ns/insert one insert). TxMix: one transaction of five
// different statements, each run once (the shape of a redeem: every
// statement is bound from the pool's cache, none is reused within the
// transaction).
func BenchmarkStmtCache(b *testing.B) {
	ctx := context.Background()
	for _, mode := range []struct {
		name  string
		limit int
	}{{"cache=off", 0}, {"cache=on", 1000}} {
		setup := func(b *testing.B) (*store.Store, model.Pool) {
			s := openCache(b, mode.limit)
			p, err := s.PoolCreate(ctx, store.PoolCreateParams{Name: "w", Kind: model.KindServer, Capacity: 1 << 30,
				Labels: map[string]string{"region": "us"}, ProviderType: "sim", ProviderConfig: []byte(`{}`), Actor: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			err = s.InTx(ctx, func(tx *store.Tx) error {
				for i := range 1000 {
					if _, _, err := tx.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer,
						ExternalID: fmt.Sprintf("acc%07d", i), FileName: "f", FileData: []byte("x")}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			return s, p
		}
		b.Run("PoolGet/"+mode.name, func(b *testing.B) {
			s, p := setup(b)
			for b.Loop() {
				if _, err := s.PoolGet(ctx, p.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("MemberGetByExternal/"+mode.name, func(b *testing.B) {
			s, _ := setup(b)
			r := s.Reader()
			i := 0
			for b.Loop() {
				if _, err := r.MemberGetByExternal(ctx, model.KindServer, fmt.Sprintf("acc%07d", i%1000)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("HistoryAdd/"+mode.name, func(b *testing.B) {
			s, p := setup(b)
			h := model.HistoryEntry{Member: "acc0000001", Pool: p.Name, Action: model.ActPlaced, To: p.Name,
				Reason: "w (holds script s, 3/20 used; affinity pack) — 100 pools: 4 full", Actor: "bench"}
			const perTx = 100
			for b.Loop() {
				err := s.InTx(ctx, func(tx *store.Tx) error {
					for range perTx {
						if err := tx.HistoryAdd(ctx, h); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perTx), "ns/insert")
		})
		b.Run("TxMix/"+mode.name, func(b *testing.B) {
			s, p := setup(b)
			h := model.HistoryEntry{Member: "acc0000001", Pool: p.Name, Action: model.ActPlaced, To: p.Name, Reason: "r", Actor: "bench"}
			i := 0
			for b.Loop() {
				err := s.InTx(ctx, func(tx *store.Tx) error {
					m, err := tx.MemberGetByExternal(ctx, model.KindServer, fmt.Sprintf("acc%07d", i%1000))
					if err != nil {
						return err
					}
					if _, err := tx.PoolGet(ctx, p.ID); err != nil {
						return err
					}
					if ok, err := tx.PoolReserve(ctx, p.ID); !ok || err != nil {
						return fmt.Errorf("reserve: %v %v", ok, err)
					}
					if _, err := tx.MemberSetState(ctx, m.ID, model.MemberQueued, "bench"); err != nil {
						return err
					}
					return tx.HistoryAdd(ctx, h)
				})
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
