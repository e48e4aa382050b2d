package bench_test

// The same mixed workload on SQLite (one replica: SQLite is one process's
// database) and on PostgreSQL with one and with two replicas. A replica is
// what `berth serve` builds: its own store (connection pool), its own River
// client and its own alloc.Service with its own placement index and lock;
// two replicas share nothing but the database, whose capacity guard alone
// keeps them from overbooking. They run in this process, which leaves the
// HTTP layer out and keeps the clients identical.
//
// One op: replicaClients clients at once, each importing a batch of
// replicaBatch accounts (its own script) and redeeming replicaBatch/2 fresh
// codes, spread round-robin over the replicas, on a database seeded with
// 1k server pools, 1k team pools and 10k members. Metrics: placements/s and
// redeems/s over the op's wall time, and x-first, the op time of the first
// configuration of the run (SQLite, one replica) divided by this one's
// (above 1: faster).
//
//	BERTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//	  go test -run '^$' -bench Replicas -benchtime 5x ./internal/bench/

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/store"
)

const (
	replicaClients = 4
	replicaBatch   = 100
)

var replicaShape = scaleShape{pools: 1_000, members: 10_000}

var replicaRef struct {
	sync.Mutex
	first float64 // ns/op of the first configuration measured
}

func BenchmarkReplicas(b *testing.B) {
	for _, c := range []struct {
		d        store.Dialect
		replicas int
	}{{store.SQLite, 1}, {store.Postgres, 1}, {store.Postgres, 2}} {
		b.Run(fmt.Sprintf("db=%s/replicas=%d", c.d, c.replicas), func(b *testing.B) { benchReplicas(b, c.d, c.replicas) })
	}
}

func benchReplicas(b *testing.B, d store.Dialect, replicas int) {
	ctx := context.Background()
	first := newScaleFixture(b, d, replicaShape)
	defer first.close()
	reps := []*scaleFixture{first}
	for i := 1; i < replicas; i++ {
		st, svc, _ := openReplica(b, first.st.DSN)
		defer st.Close()
		reps = append(reps, &scaleFixture{sh: replicaShape, st: st, svc: svc})
	}
	for _, r := range reps {
		r.placeAndRedeem(b, 1) // each replica's first index loads
	}
	round := 0
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		round++
		codes := first.codes(b, replicaClients*replicaBatch/2)
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for c := range replicaClients {
			r := reps[c%len(reps)]
			mine := codes[c*replicaBatch/2 : (c+1)*replicaBatch/2]
			wg.Go(func() { replicaClient(ctx, b, r, fmt.Sprintf("o%d-c%d", round, c), mine) })
		}
		wg.Wait()
		elapsed += time.Since(start)
	}
	perOp := float64(elapsed.Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(replicaClients*replicaBatch)/(perOp/1e9), "placements/s")
	b.ReportMetric(float64(replicaClients*replicaBatch/2)/(perOp/1e9), "redeems/s")
	replicaRef.Lock()
	defer replicaRef.Unlock()
	if replicaRef.first == 0 {
		replicaRef.first = perOp
	}
	b.ReportMetric(replicaRef.first/perOp, "x-first")
}

// replicaClient imports one batch and redeems its codes on replica r; all
// must be placed. It uses b.Error, not b.Fatal: it runs in its own
// goroutine.
func replicaClient(ctx context.Context, b *testing.B, r *scaleFixture, name string, codes []string) {
	files := make([]alloc.AccountFile, replicaBatch)
	for i := range files {
		id := fmt.Sprintf("%s-acc%04d", name, i)
		files[i] = alloc.AccountFile{ID: id, FileName: id + ".session", Data: []byte("SQLite format 3\x00" + id)}
	}
	out, err := r.svc.ImportAccounts(ctx, alloc.ImportParams{Script: name, Files: files, Actor: "bench"})
	if err != nil {
		b.Error(err)
		return
	}
	for _, o := range out {
		if o.Status != alloc.OutcomePlaced {
			b.Errorf("account %s: %s (%s)", o.Member.ExternalID, o.Status, o.Reason)
			return
		}
	}
	for i, c := range codes {
		st, err := r.svc.Redeem(ctx, fmt.Sprintf("%s-user%04d@bench.example", name, i), c, "bench")
		if err != nil || st.Pool == "" {
			b.Errorf("redeem %s %d: %+v %v", name, i, st, err)
			return
		}
	}
}
