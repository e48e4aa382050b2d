package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/jobs"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The job queue gauges read River's table on both engines, including the
// age of the oldest job waiting (a time on PostgreSQL, text on SQLite).
func TestJobGauges(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		q, err := jobs.New(ctx, st, alloc.New(st, nil, nil), jobs.Config{}, nil) // not started: jobs stay available
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{1, 2} {
			if err := st.InTx(ctx, func(tx *store.Tx) error { return q.Deliver(ctx, tx, id) }); err != nil {
				t.Fatal(err)
			}
		}
		rec := httptest.NewRecorder()
		metrics.Handler(st, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body := rec.Body.String()
		for _, want := range []string{
			`berth_jobs{kind="deliver",state="available"} 2`,
			`berth_jobs{kind="remove",state="available"} 0`,
			`berth_scrape_part_error{part="jobs"} 0`,
			`berth_jobs_oldest_available_age_seconds{kind="remove"} 0`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		var age float64
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, `berth_jobs_oldest_available_age_seconds{kind="deliver"} `); ok {
				if _, err := fmt.Sscan(v, &age); err != nil {
					t.Fatal(err)
				}
				if age < 0 || age > 60 {
					t.Errorf("oldest deliver job waited %vs", age)
				}
				return
			}
		}
		t.Errorf("no oldest-job age for deliver in\n%s", body)
	})
}
