package bench_test

// The scale curve: the cost of one placement (an account imported onto a
// server) and of one redeem (a user given a team seat) as the fleet grows
// from 1k to 100k pools and the members already placed from 10k to 1M.
//
// Each shape gets a fresh database seeded in bulk with SQL (N server pools
// and N team pools; M/2 accounts with active seats on the servers, M/2
// users with bound codes and active seats on the teams, every pool's used
// count equal to its seats), then a fresh alloc.Service whose first index
// load is done before the timer starts. One op imports a batch of
// scaleBatch accounts of a new script and redeems scaleBatch fresh codes,
// through the same calls the HTTP handlers make, with the real River
// enqueuer (workers not started: the insert path is measured). The
// metrics are ns/placement and ns/redeem and, when the smallest shape ran
// first in the same process, their ratio to it (x-smallest-*).
//
//	go test -run '^$' -bench 'Scale/db=sqlite' -benchtime 3x -timeout 60m ./internal/bench/
//
// See docs/bench.md for the results.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/jobs"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// scaleBatch is how many placements and redeems one op makes.
const scaleBatch = 200

// scaleShape is one point of the curve: pools of each kind, and members
// already placed (half accounts, half users).
type scaleShape struct{ pools, members int }

func (s scaleShape) String() string { return fmt.Sprintf("pools=%d/members=%d", s.pools, s.members) }

// perPool is how many seeded members of one kind a pool holds at most.
func (s scaleShape) perPool() int { return max((s.members/2+s.pools-1)/s.pools, 1) }

// capacity leaves a quarter of headroom (and at least 10 seats a pool) for
// the ops.
func (s scaleShape) capacity() int { return s.perPool() + max(s.perPool()/4, 10) }

// scaleShapes: the pools axis at 100k members, the members axis at 10k
// pools, and the far corner. The first is the smallest: the reference.
var scaleShapes = []scaleShape{
	{1_000, 10_000},
	{1_000, 100_000},
	{10_000, 100_000},
	{100_000, 100_000},
	{10_000, 1_000_000},
	{100_000, 1_000_000},
}

// scaleRef holds the smallest shape's costs per dialect, for the ratios.
var scaleRef = struct {
	sync.Mutex
	place, redeem map[store.Dialect]float64
}{place: map[store.Dialect]float64{}, redeem: map[store.Dialect]float64{}}

func BenchmarkScale(b *testing.B) {
	for _, d := range storetest.Dialects() {
		for _, sh := range scaleShapes {
			b.Run(fmt.Sprintf("db=%s/%s", d, sh), func(b *testing.B) { benchScale(b, d, sh) })
		}
	}
}

func benchScale(b *testing.B, d store.Dialect, sh scaleShape) {
	ctx := context.Background()
	sf := newScaleFixture(b, d, sh)
	defer sf.close()
	// Warm up outside the timer: the first index load of each kind
	// (PoolList + PoolAffinity over every seat + NewIndex).
	sf.placeAndRedeem(b, 1)

	var placeNS, redeemNS time.Duration
	var codes []string
	for b.Loop() {
		b.StopTimer()
		codes = sf.codes(b, scaleBatch)
		b.StartTimer()
		start := time.Now()
		sf.place(ctx, b, scaleBatch)
		mid := time.Now()
		sf.redeem(ctx, b, codes)
		placeNS += mid.Sub(start)
		redeemNS += time.Since(mid)
	}
	perPlace := float64(placeNS.Nanoseconds()) / float64(b.N*scaleBatch)
	perRedeem := float64(redeemNS.Nanoseconds()) / float64(b.N*scaleBatch)
	b.ReportMetric(perPlace, "ns/placement")
	b.ReportMetric(perRedeem, "ns/redeem")
	scaleRef.Lock()
	defer scaleRef.Unlock()
	if sh == scaleShapes[0] {
		scaleRef.place[d], scaleRef.redeem[d] = perPlace, perRedeem
	}
	if ref := scaleRef.place[d]; ref > 0 {
		b.ReportMetric(perPlace/ref, "x-smallest-placement")
		b.ReportMetric(perRedeem/scaleRef.redeem[d], "x-smallest-redeem")
	}
}

// scaleFixture is a seeded database with a Service and a River queue (not
// started) wired as its Enqueuer.
type scaleFixture struct {
	sh    scaleShape
	st    *store.Store
	svc   *alloc.Service
	round int // ops so far: names new accounts, scripts and emails
}

// openReplica opens the store at dsn and builds on it what a replica of
// berth serve has for these benchmarks: the service and its River queue,
// which wires itself in as the service's Enqueuer (workers not started: the
// insert path is measured). The store is closed again if that fails.
func openReplica(tb testing.TB, dsn string) (*store.Store, *alloc.Service, *jobs.Queue) {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, storetest.Box(tb))
	if err != nil {
		tb.Fatal(err)
	}
	svc := alloc.New(st, nil, quiet)
	q, err := jobs.New(ctx, st, svc, jobs.Config{}, quiet)
	if err != nil {
		st.Close()
		tb.Fatal(err)
	}
	return st, svc, q
}

func newScaleFixture(tb testing.TB, d store.Dialect, sh scaleShape) *scaleFixture {
	tb.Helper()
	ctx := context.Background()
	st, svc, _ := openReplica(tb, storetest.DSN(tb, d))
	start := time.Now()
	if err := seedScale(ctx, svc, st, sh); err != nil {
		st.Close()
		tb.Fatalf("seed %s: %v", sh, err)
	}
	tb.Logf("seeded %s on %s in %s", sh, d, time.Since(start).Round(time.Millisecond))
	return &scaleFixture{sh: sh, st: st, svc: svc}
}

func (sf *scaleFixture) close() { sf.st.Close() }

// codes generates n fresh single-use codes.
func (sf *scaleFixture) codes(tb testing.TB, n int) []string {
	codes, err := codebook.New(sf.svc.Store(), sf.svc).Generate(context.Background(), codebook.Spec{Count: n, MaxUses: 1}, "bench")
	if err != nil {
		tb.Fatal(err)
	}
	return codes
}

// place imports n accounts of a new script in one batch; all must be placed.
func (sf *scaleFixture) place(ctx context.Context, tb testing.TB, n int) {
	sf.round++
	files := make([]alloc.AccountFile, n)
	for i := range files {
		id := fmt.Sprintf("r%d-acc%05d", sf.round, i)
		files[i] = alloc.AccountFile{ID: id, FileName: id + ".session", Data: []byte("SQLite format 3\x00" + id)}
	}
	out, err := sf.svc.ImportAccounts(ctx, alloc.ImportParams{Script: fmt.Sprintf("bench-%d", sf.round), Files: files, Actor: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range out {
		if o.Status != alloc.OutcomePlaced {
			tb.Fatalf("account %s: %s (%s)", o.Member.ExternalID, o.Status, o.Reason)
		}
	}
}

// redeem redeems each code for a new email; all must get a seat.
func (sf *scaleFixture) redeem(ctx context.Context, tb testing.TB, codes []string) {
	for i, c := range codes {
		st, err := sf.svc.Redeem(ctx, fmt.Sprintf("r%d-user%05d@bench.example", sf.round, i), c, "bench")
		if err != nil {
			tb.Fatalf("redeem %d: %v", i, err)
		}
		if st.Pool == "" {
			tb.Fatalf("redeem %d: no team: %+v", i, st)
		}
	}
}

func (sf *scaleFixture) placeAndRedeem(tb testing.TB, n int) {
	codes := sf.codes(tb, n)
	sf.place(context.Background(), tb, n)
	sf.redeem(context.Background(), tb, codes)
}

// seedScale fills an empty, migrated database in bulk: sh.pools server
// pools and sh.pools team pools (capacity sh.capacity()), sh.members/2
// accounts packed 20 to a script onto the servers, sh.members/2 users with
// bound codes onto the teams, all seats active, used = seats per pool.
// Rows are written with explicit ids from a number series, by a few
// INSERT … SELECT statements, so 1M members take seconds, not the hours
// the import path would.
func seedScale(ctx context.Context, svc *alloc.Service, st *store.Store, sh scaleShape) error {
	// Pool template rows through the service, so the provider config is
	// sealed as berth seals it; the bulk pools copy it.
	zero := 0
	for _, k := range []model.Kind{model.KindServer, model.KindTeam} {
		if _, err := pooladmin.New(svc.Store(), svc).Create(ctx, pooladmin.Input{Name: "tmpl-" + string(k), Kind: k, Capacity: &zero, Provider: []byte(`{"type":"sim"}`)}, "bench"); err != nil {
			return err
		}
	}
	n, half := sh.pools, sh.members/2
	per, capacity := sh.perPool(), sh.capacity()
	now := time.Now().UnixMicro()
	series := func(count int) string {
		if st.Dialect == store.Postgres {
			return fmt.Sprintf("SELECT i FROM generate_series(1, %d) AS g(i)", count)
		}
		return fmt.Sprintf("WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %d) SELECT i FROM g", count)
	}
	// Ids: server pools 1..n, team pools n+1..2n (templates get removed);
	// accounts 1..half, users half+1..2*half; codes 1..half.
	const poolIDBase = 1_000_000_000 // templates keep their low ids until removed
	stmts := []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM history`, nil},
		{fmt.Sprintf(`INSERT INTO pools (id, name, kind, capacity, used, status, status_changed_at, status_actor, provider_type, provider_config, created_at)
			SELECT %d + i, CASE WHEN i <= %d THEN 'server-' ELSE 'team-' END || i,
				CASE WHEN i <= %[2]d THEN 'server' ELSE 'team' END, %d, 0, 'active', %d, 'bench', 'sim',
				(SELECT provider_config FROM pools WHERE name = 'tmpl-server'), %[4]d
			FROM (%s) s`, poolIDBase, n, capacity, now, series(2*n)), nil},
		{`DELETE FROM pools WHERE name LIKE 'tmpl-%'`, nil},
		{fmt.Sprintf(`INSERT INTO members (id, kind, external_id, affinity_key, file_name, state, created_at)
			SELECT i, 'server', 'seed-acc' || i, 'seed-script-' || ((i - 1) / 20), 'seed-acc' || i || '.session', 'placed', %d
			FROM (%s) s`, now, series(half)), nil},
		{fmt.Sprintf(`INSERT INTO members (id, kind, external_id, state, created_at)
			SELECT %d + i, 'team', 'seed-user' || i || '@seed.example', 'placed', %d
			FROM (%s) s`, half, now, series(half)), nil},
		{fmt.Sprintf(`INSERT INTO codes (id, lookup, sealed, hint, max_uses, used_count, bound_email, activated_at, status, batch, created_at)
			SELECT i, 'seed-' || i, $1, 'SEED', 1, 1, 'seed-user' || i || '@seed.example', %d, 'bound', 'seed', %[1]d
			FROM (%s) s`, now, series(half)), []any{[]byte{0}}},
		// Account i sits on server pool (i-1)/per + 1: scripts packed.
		{fmt.Sprintf(`INSERT INTO seats (id, member_id, pool_id, state, created_at, updated_at)
			SELECT i, i, %d + (i - 1) / %d + 1, 'active', %d, %[3]d
			FROM (%s) s`, poolIDBase, per, now, series(half)), nil},
		{fmt.Sprintf(`INSERT INTO seats (id, member_id, pool_id, state, code_id, created_at, updated_at)
			SELECT %d + i, %[1]d + i, %d + (i - 1) / %d + 1, 'active', i, %d, %[4]d
			FROM (%s) s`, half, poolIDBase+n, per, now, series(half)), nil},
		{`UPDATE pools SET used = (SELECT count(*) FROM seats WHERE seats.pool_id = pools.id AND seats.state = 'active')`, nil},
	}
	if st.Dialect == store.Postgres {
		for _, t := range []string{"pools", "members", "codes", "seats"} {
			stmts = append(stmts, struct {
				sql  string
				args []any
			}{fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT max(id) FROM %s))`, t, t), nil})
		}
		stmts = append(stmts, struct {
			sql  string
			args []any
		}{`ANALYZE`, nil})
	} else {
		stmts = append(stmts, struct {
			sql  string
			args []any
		}{`ANALYZE`, nil})
	}
	for _, s := range stmts {
		if _, err := st.DB.ExecContext(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("%.60s…: %w", s.sql, err)
		}
	}
	svc.Invalidate()
	return nil
}

// The seeded database is one berth accepts as its own: used counts equal
// the seats, and placements and redeems work on it.
func TestScaleSeedIsConsistent(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			sh := scaleShape{pools: 50, members: 2_000}
			sf := newScaleFixture(t, d, sh)
			defer sf.close()
			ctx := context.Background()
			var pools, members, seats, codes, badUsed int
			err := sf.st.DB.QueryRowContext(ctx, `SELECT
				(SELECT count(*) FROM pools), (SELECT count(*) FROM members), (SELECT count(*) FROM seats),
				(SELECT count(*) FROM codes),
				(SELECT count(*) FROM pools p WHERE used <> (SELECT count(*) FROM seats s WHERE s.pool_id = p.id AND s.state = 'active'))`).
				Scan(&pools, &members, &seats, &codes, &badUsed)
			if err != nil {
				t.Fatal(err)
			}
			if pools != 2*sh.pools || members != sh.members || seats != sh.members || codes != sh.members/2 || badUsed != 0 {
				t.Fatalf("seeded pools %d members %d seats %d codes %d (pools with used ≠ seats: %d), want %d %d %d %d 0",
					pools, members, seats, codes, badUsed, 2*sh.pools, sh.members, sh.members, sh.members/2)
			}
			sf.placeAndRedeem(t, 30)
			// The new rows got fresh ids after the seeded ones.
			var maxSeat int64
			if err := sf.st.DB.QueryRowContext(ctx, `SELECT max(id) FROM seats`).Scan(&maxSeat); err != nil {
				t.Fatal(err)
			}
			if maxSeat != int64(sh.members+60) {
				t.Fatalf("max seat id %d, want %d", maxSeat, sh.members+60)
			}
		})
	}
}
