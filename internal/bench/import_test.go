package bench_test

// Persisted batch allocation benchmarks: alloc.Service.ImportAccounts with
// the real River enqueuer (jobs.New, workers not started, so only the
// insert path is measured) against a baseline that writes the same rows
// with the same store methods and River InsertTx, in the same transaction
// chunking, but makes no placement decision, claims nothing and never
// retries. See docs/bench.md.
//
//	go test -run '^$' -bench 'Import' -benchtime 1x ./internal/bench/
//
// PostgreSQL runs when BERTH_TEST_POSTGRES_URL is set and skips otherwise.

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/jobs"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Chunk sizes of alloc.ImportAccounts (storeChunk, placeChunk), mirrored by
// the baseline so both commit the same number of transactions.
const (
	storeChunk = 250
	placeChunk = 100
)

// fileSize is the credential file size of every benchmark account. Both
// paths seal and store the same bytes, so it shifts both equally.
const fileSize = 1024

const script = "bench-script"

// size is one benchmark shape; capacity*servers >= accounts so all fit.
type size struct {
	accounts, servers, capacity int
}

var sizes = []size{
	{accounts: 1_000, servers: 100, capacity: 20},    // quick
	{accounts: 10_000, servers: 1_000, capacity: 20}, // the shape
}

func (s size) String() string { return fmt.Sprintf("accounts=%d/servers=%d", s.accounts, s.servers) }

var quiet = slog.New(slog.DiscardHandler)

// fixture is a fresh, migrated database with the pools created, a Service
// and a River queue (not started) wired as its Enqueuer.
type fixture struct {
	st    *store.Store
	svc   *alloc.Service
	q     *jobs.Queue
	pools []model.Pool // in creation (= name) order
}

func newFixture(tb testing.TB, d store.Dialect, sz size) *fixture {
	tb.Helper()
	ctx := context.Background()
	st, svc, q := openReplica(tb, storetest.DSN(tb, d))
	pools := make([]model.Pool, sz.servers)
	err := st.InTx(ctx, func(tx *store.Tx) error {
		for i := range pools {
			p, err := tx.PoolCreate(ctx, store.PoolCreateParams{Name: fmt.Sprintf("server-%06d", i), Kind: model.KindServer,
				Capacity: sz.capacity, ProviderType: "sim", ProviderConfig: []byte(`{"type":"sim"}`), Actor: "bench"})
			if err != nil {
				return err
			}
			pools[i] = p
		}
		return nil
	})
	if err != nil {
		st.Close()
		tb.Fatal(err)
	}
	return &fixture{st: st, svc: svc, q: q, pools: pools}
}

func (f *fixture) close() { f.st.Close() }

// accountFiles builds n distinct accounts with fileSize-byte files.
func accountFiles(n int) []alloc.AccountFile {
	pad := strings.Repeat("x", fileSize)
	files := make([]alloc.AccountFile, n)
	for i := range files {
		id := fmt.Sprintf("acc%07d", i)
		data := []byte("SQLite format 3\x00" + id + pad)[:fileSize]
		files[i] = alloc.AccountFile{ID: id, FileName: id + ".session", Data: data}
	}
	return files
}

// importAll is the measured path: one ImportAccounts call for the batch.
func importAll(ctx context.Context, tb testing.TB, f *fixture, files []alloc.AccountFile) {
	out, err := f.svc.ImportAccounts(ctx, alloc.ImportParams{Script: script, Files: files, Actor: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range out {
		if o.Status != alloc.OutcomePlaced {
			tb.Fatalf("account %s: %s (%s)", o.Member.ExternalID, o.Status, o.Reason)
		}
	}
}

// baseline writes what importAll leaves behind, and nothing else: per
// account one member row (chunks of storeChunk), then per account in chunks
// of placeChunk one used+1 on a precomputed pool, one seat, the member's
// state set to placed and one history row, and per chunk one River job
// delivering its seats (as alloc's placer enqueues them). No
// index, no decision, no pending claim, no queue cleanup, no guard retry.
func baseline(ctx context.Context, tb testing.TB, f *fixture, files []alloc.AccountFile, capacity int) {
	members := make([]model.Member, len(files))
	for start := 0; start < len(files); start += storeChunk {
		end := min(start+storeChunk, len(files))
		err := f.st.InTx(ctx, func(tx *store.Tx) error {
			for i := start; i < end; i++ {
				m, created, err := tx.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: files[i].ID,
					AffinityKey: script, FileName: files[i].FileName, FileData: files[i].Data})
				if err != nil {
					return err
				}
				if !created {
					return fmt.Errorf("member %s exists", files[i].ID)
				}
				members[i] = m
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for start := 0; start < len(members); start += placeChunk {
		end := min(start+placeChunk, len(members))
		err := f.st.InTx(ctx, func(tx *store.Tx) error {
			var seats []int64
			for i := start; i < end; i++ {
				m := members[i]
				p := f.pools[i/capacity] // what pack does with one script: fill pools in order
				// PoolReserve is the used = used + 1 UPDATE; its WHERE clause
				// never refuses here, so it is the plain count update.
				ok, err := tx.PoolReserve(ctx, p.ID)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("pool %s refused", p.Name)
				}
				seatID, err := tx.SeatCreate(ctx, m.ID, p.ID, model.SeatProvisioning, 0, 0)
				if err != nil {
					return err
				}
				seats = append(seats, seatID)
				if _, err := tx.MemberSetState(ctx, m.ID, model.MemberPlaced, ""); err != nil {
					return err
				}
				// Same shape and length as the placement explanation.
				used := i%capacity + 1
				reason := fmt.Sprintf("%s (holds script %s, %d/%d used; affinity pack) — %d pools: %d full",
					p.Name, script, used-1, capacity, len(f.pools), i/capacity)
				if err := tx.HistoryAdd(ctx, model.HistoryEntry{Member: m.ExternalID, Pool: p.Name, Action: model.ActPlaced,
					To: p.Name, Reason: reason, Actor: "bench"}); err != nil {
					return err
				}
			}
			return f.q.DeliverMany(ctx, tx, seats)
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

type mode int

const (
	modeAlloc    mode = iota // ImportAccounts only
	modeBaseline             // the plain writes only
	modePaired               // both, each on a fresh database, order alternating
)

// run is the body of every import benchmark. ns/op is one whole batch of
// sz.accounts (the alloc path in paired mode); ns/account divides it.
// Database creation, migration and pool creation are outside the timer.
func run(b *testing.B, d store.Dialect, sz size, m mode) {
	ctx := context.Background()
	files := accountFiles(sz.accounts)
	// Fail fast (and skip PostgreSQL when unconfigured) before the loop.
	newFixture(b, d, size{servers: 1, capacity: 1}).close()
	var allocT, baseT time.Duration
	timed := func(fn func(f *fixture)) time.Duration {
		b.StopTimer()
		f := newFixture(b, d, sz)
		b.StartTimer()
		t0 := time.Now()
		fn(f)
		el := time.Since(t0)
		b.StopTimer()
		f.close()
		b.StartTimer()
		return el
	}
	doAlloc := func(f *fixture) { importAll(ctx, b, f, files) }
	doBase := func(f *fixture) { baseline(ctx, b, f, files, sz.capacity) }
	n := 0
	for b.Loop() {
		switch m {
		case modeAlloc:
			allocT += timed(doAlloc)
		case modeBaseline:
			baseT += timed(doBase)
		case modePaired:
			// The baseline runs untimed by b (ns/op is the alloc path) but
			// timed by the clock; the order alternates against drift.
			if n%2 == 0 {
				allocT += timed(doAlloc)
			}
			b.StopTimer()
			f := newFixture(b, d, sz)
			t0 := time.Now()
			doBase(f)
			baseT += time.Since(t0)
			f.close()
			b.StartTimer()
			if n%2 == 1 {
				allocT += timed(doAlloc)
			}
		}
		n++
	}
	per := func(t time.Duration) float64 { return float64(t.Nanoseconds()) / float64(n*sz.accounts) }
	switch m {
	case modeAlloc:
		b.ReportMetric(per(allocT), "ns/account")
	case modeBaseline:
		b.ReportMetric(per(baseT), "ns/account")
	case modePaired:
		b.ReportMetric(per(allocT), "ns/account")
		b.ReportMetric(per(baseT), "baseline-ns/account")
		b.ReportMetric(float64(allocT)/float64(baseT), "x-baseline")
	}
}

func each(b *testing.B, m mode) {
	for _, d := range storetest.Dialects() {
		for _, sz := range sizes {
			b.Run(fmt.Sprintf("db=%s/%s", d, sz), func(b *testing.B) { run(b, d, sz, m) })
		}
	}
}

// BenchmarkImportAccounts measures ImportAccounts alone (use it to profile).
func BenchmarkImportAccounts(b *testing.B) { each(b, modeAlloc) }

// BenchmarkImportBaseline measures the plain writes alone.
func BenchmarkImportBaseline(b *testing.B) { each(b, modeBaseline) }

// BenchmarkImportVsBaseline runs both per iteration and reports the ratio
// (x-baseline = alloc time / baseline time): the overhead of placing
// through the index and the capacity guard over just writing the rows.
func BenchmarkImportVsBaseline(b *testing.B) { each(b, modePaired) }

// TestBaselineWritesSameRows keeps the comparison honest: after the batch,
// both paths leave the same rows in every table the import touches.
func TestBaselineWritesSameRows(t *testing.T) {
	sz := size{accounts: 125, servers: 16, capacity: 10}
	files := accountFiles(sz.accounts)
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		fa := newFixture(t, d, sz)
		defer fa.close()
		importAll(ctx, t, fa, files)
		fb := newFixture(t, d, sz)
		defer fb.close()
		baseline(ctx, t, fb, files, sz.capacity)
		a, bl := tableSummary(t, fa.st), tableSummary(t, fb.st)
		t.Logf("alloc rows: %q", a)
		if !slices.Equal(a, bl) {
			t.Errorf("rows differ:\nalloc    %q\nbaseline %q", a, bl)
		}
	})
}

// tableSummary describes the rows an import leaves behind: counts per
// state, kind or action, the pools' used counts (sorted: which pool gets
// which account is the decision, not the write) and the mean reason length.
func tableSummary(t *testing.T, st *store.Store) []string {
	t.Helper()
	queries := []string{
		`SELECT state || ':' || COUNT(*) FROM members GROUP BY state ORDER BY state`,
		`SELECT 'file ' || COUNT(file_data) FROM members`,
		`SELECT state || ':' || COUNT(*) FROM seats GROUP BY state ORDER BY state`,
		`SELECT action || ':' || actor || ':' || COUNT(*) FROM history GROUP BY action, actor ORDER BY action, actor`,
		`SELECT 'reason-len ' || (SUM(LENGTH(reason)) / COUNT(*) / 10) FROM history`,
		`SELECT kind || ':' || state || ':' || COUNT(*) FROM river_job GROUP BY kind, state ORDER BY kind, state`,
		`SELECT 'queue ' || COUNT(*) FROM queue`,
		`SELECT 'used ' || used FROM pools ORDER BY used, id`,
	}
	var out []string
	for _, q := range queries {
		rows, err := st.DB.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var col []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			col = append(col, s)
		}
		rows.Close()
		slices.Sort(col)
		out = append(out, strings.Join(col, ","))
	}
	return out
}
