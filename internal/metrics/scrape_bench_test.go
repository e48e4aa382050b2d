package metrics_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/jobs"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// fleetSQL builds a fleet of n pools in one statement each (SQLite): half
// servers, half teams, in 20 groups; every 50th paused, every 97th banned;
// every even pool holds 2 active seats (2 members), so used and the seats
// agree and the integrity check finds nothing.
var fleetSQL = []string{
	`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
	INSERT INTO pools (id, name, kind, capacity, used, status, status_changed_at, labels, priority, provider_type, provider_config, created_at)
	SELECT i, printf('pool-%06d', i), CASE i % 2 WHEN 0 THEN 'team' ELSE 'server' END, 10,
		CASE i % 2 WHEN 0 THEN 2 ELSE 0 END,
		CASE WHEN i % 97 = 0 THEN 'banned' WHEN i % 50 = 0 THEN 'paused' ELSE 'active' END,
		$2, '{"group":"g' || (i % 20) || '"}', i % 7, 'sim', X'', $2 FROM n`,
	`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
	INSERT INTO members (id, kind, external_id, state, created_at)
	SELECT i, 'team', 'u' || i || '@example.com', 'placed', $2 FROM n WHERE (i + 1) / 2 % 2 = 0`,
	`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
	INSERT INTO seats (member_id, pool_id, state, created_at, updated_at)
	SELECT i, (i + 1) / 2, 'active', $2, $2 FROM n WHERE (i + 1) / 2 % 2 = 0`,
}

// buildFleet fills st (SQLite, with River's tables) with n pools; see
// fleetSQL.
func buildFleet(tb testing.TB, st *store.Store, n int) {
	tb.Helper()
	if err := jobs.Migrate(context.Background(), st); err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UnixMicro()
	for i, q := range fleetSQL {
		limit := n
		if i > 0 {
			limit = 2 * n // members and seats: 2 a pool, on even pools
		}
		if _, err := st.DB.Exec(q, limit, now); err != nil {
			tb.Fatalf("build fleet: %v", err)
		}
	}
}

// scrape GETs /metrics from h as a loopback client and returns the body.
func scrape(tb testing.TB, h http.Handler) []byte {
	tb.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		tb.Fatalf("scrape: %d %s", rec.Code, rec.Body.String())
	}
	return rec.Body.Bytes()
}

// BenchmarkScrape100k scrapes /metrics over a fleet of 100,000 pools on
// SQLite: cold (a fresh handler, nothing cached: the first scrape after
// start or after the caches lapse) and cached (scrapes within the cache's
// lifetime); fleet-read reads the fleet at every scrape with the slow part
// (integrity check, forecast) cached. It reports the size of a scrape as scrape-bytes.
//
//	go test -run '^$' -bench Scrape100k -benchtime 5x ./internal/metrics/
func BenchmarkScrape100k(b *testing.B) { benchScrape(b, 100_000) }

// BenchmarkScrape30k is the fleet size of the review's measurement.
func BenchmarkScrape30k(b *testing.B) { benchScrape(b, 30_000) }

func benchScrape(b *testing.B, pools int) {
	st := storetest.Open(b, store.SQLite)
	buildFleet(b, st, pools)
	log := slog.New(slog.DiscardHandler)
	b.Run("cold", func(b *testing.B) {
		var n int
		for b.Loop() {
			n = len(scrape(b, newBenchHandler(st, log)))
		}
		b.ReportMetric(float64(n), "scrape-bytes")
	})
	// The steady state: the fleet read again at every scrape (its cache
	// lapsed), the slow part (integrity, forecast) still cached.
	b.Run("fleet-read", func(b *testing.B) {
		h := metrics.NewHandler(st, log, metrics.Config{TTL: time.Nanosecond})
		scrape(b, h)
		var n int
		for b.Loop() {
			n = len(scrape(b, h))
		}
		b.ReportMetric(float64(n), "scrape-bytes")
	})
	b.Run("cached", func(b *testing.B) {
		h := newBenchHandler(st, log)
		scrape(b, h)
		var n int
		for b.Loop() {
			n = len(scrape(b, h))
		}
		b.ReportMetric(float64(n), "scrape-bytes")
	})
}

// newBenchHandler is the /metrics handler with the default settings.
func newBenchHandler(st *store.Store, log *slog.Logger) http.Handler {
	return metrics.Handler(st, log)
}
