package bench_test

// Memory at scale: what berth's process holds with 100k server pools,
// 100k teams and 1M members placed, and how long the placement indexes
// take to build there. The fixture is the scale curve's (scale_test.go):
// a database seeded in bulk, a Service with the real River enqueuer. The
// first placement and the first redeem build each kind's index; then a
// background refresh of each (what a replica does every 30 s) is timed.
// Reported: rss-MiB (VmRSS of this process, which holds the Service, its
// indexes and the database driver's caches, as `berth serve` would),
// heap-MiB (live heap after a GC) and the build times.
//
//	go test -run '^$' -bench 'MemoryAtScale' -benchtime 1x -timeout 30m ./internal/bench/
//
// See docs/bench.md §5.

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/store"
)

func BenchmarkMemoryAtScale(b *testing.B) {
	sh := scaleShape{pools: 100_000, members: 1_000_000}
	sf := newScaleFixture(b, store.SQLite, sh)
	defer sf.close()
	builds := sf.svc.IndexBuilds()
	start := time.Now()
	sf.placeAndRedeem(b, 1) // builds the server and the team index
	first := time.Since(start)
	if got := sf.svc.IndexBuilds() - builds; got != 2 {
		b.Fatalf("%d index builds, want 2 (one a kind)", got)
	}
	for b.Loop() {
		sf.placeAndRedeem(b, 1)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
	b.ReportMetric(rssMiB(b), "rss-MiB")
	b.ReportMetric(first.Seconds(), "s-first-builds+ops")
	// A rebuild of both kinds, as the background refresh does it.
	sf.svc.Invalidate()
	start = time.Now()
	sf.placeAndRedeem(b, 1)
	b.ReportMetric(time.Since(start).Seconds(), "s-rebuild-both+ops")
}

// rssMiB is this process's resident set (VmRSS) in MiB.
func rssMiB(tb testing.TB) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb / 1024
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}
