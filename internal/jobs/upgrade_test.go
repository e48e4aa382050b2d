package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river/rivermigrate"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A database made by a berth on River v0.31 (River's schema at version 6,
// its jobs' JSON stored as text on SQLite) is migrated to River's latest
// version when the queue is built, and its jobs are worked: an available
// one, a retryable one (its attempt error of v0.31 kept and readable), and
// one a process that ended left running (retried at start on SQLite, by
// River's rescuer on PostgreSQL). River v0.40 and v0.48 rebuild river_job on
// SQLite (migrations 7 and 8) and turn its JSON columns to jsonb.
func TestRiverUpgradeFromV031Schema(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := storetest.Open(t, d)
		m, err := rivermigrate.New(driverFor(st), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: 6}); err != nil {
			t.Fatal(err)
		}
		// As River v0.31 wrote them: on SQLite JSON text, times in
		// SQLite's datetime format; on PostgreSQL errors is jsonb[].
		stmt := `INSERT INTO river_job (id, args, attempt, attempted_at, attempted_by, created_at, kind, max_attempts, state, scheduled_at, metadata, tags, errors) VALUES
			(1, '{}', 0, NULL, NULL, strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour'), 'probe', 25, 'available', strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour'), '{}', '[]', NULL),
			(2, '{}', 1, strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour'), '["old"]', strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour'), 'sweep', 25, 'retryable', strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour'), '{}', '[]',
				'[{"at":"2026-02-21T10:00:00Z","attempt":1,"error":"failed under v0.31","trace":""}]'),
			(3, '{}', 1, strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour'), '["old"]', strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour'), 'probe', 25, 'running', strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour'), '{}', '[]', NULL)`
		if d == store.Postgres {
			stmt = `INSERT INTO river_job (id, args, attempt, attempted_at, attempted_by, created_at, kind, max_attempts, state, scheduled_at, metadata, tags, errors) VALUES
			(1, '{}', 0, NULL, NULL, now() - interval '1 hour', 'probe', 25, 'available', now() - interval '1 hour', '{}', '{}', NULL),
			(2, '{}', 1, now() - interval '1 hour', '{old}', now() - interval '1 hour', 'sweep', 25, 'retryable', now() - interval '1 hour', '{}', '{}',
				ARRAY['{"at":"2026-02-21T10:00:00Z","attempt":1,"error":"failed under v0.31","trace":""}'::jsonb]),
			(3, '{}', 1, now() - interval '1 hour', '{old}', now() - interval '1 hour', 'probe', 25, 'running', now() - interval '1 hour', '{}', '{}', NULL)`
		}
		if _, err := st.DB.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
		if d == store.Postgres {
			// The ids were given: move the sequence past them as River's
			// own inserts would have.
			if _, err := st.DB.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('river_job', 'id'), 3)`); err != nil {
				t.Fatal(err)
			}
		}

		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		q, err := New(ctx, st, alloc.New(st, nil, log), Config{PollInterval: 20 * time.Millisecond}, log)
		if err != nil {
			t.Fatal(err)
		}
		var version int
		if err := st.DB.QueryRowContext(ctx, `SELECT MAX(version) FROM river_migration WHERE line = 'main'`).Scan(&version); err != nil {
			t.Fatal(err)
		}
		all := m.AllVersions()
		if latest := all[len(all)-1].Version; version != latest || latest < 8 {
			t.Fatalf("River schema at version %d after New, want %d (at least 8)", version, latest)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			q.Stop(stop)
		})

		want := "1 probe completed attempt 1 errors []; 2 sweep completed attempt 2 errors [failed under v0.31]; 3 probe completed attempt 2 errors [1 rescued]"
		if d == store.SQLite {
			// retryOrphans made it available at start, no error recorded.
			want = "1 probe completed attempt 1 errors []; 2 sweep completed attempt 2 errors [failed under v0.31]; 3 probe completed attempt 2 errors []"
		}
		var got string
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			got = ""
			for id := int64(1); id <= 3; id++ {
				job, err := q.client.JobGet(ctx, id)
				if err != nil {
					t.Fatalf("job %d: %v", id, err)
				}
				errs := []string{}
				for _, e := range job.Errors {
					if e.Error == "failed under v0.31" {
						errs = append(errs, e.Error)
					} else {
						errs = append(errs, fmt.Sprintf("%d rescued", e.Attempt))
					}
				}
				if id > 1 {
					got += "; "
				}
				got += fmt.Sprintf("%d %s %s attempt %d errors %v", id, job.Kind, job.State, job.Attempt, errs)
			}
			if got == want {
				return
			}
		}
		t.Errorf("%s: jobs of the v0.31 schema after upgrade:\n got %s\nwant %s", d, got, want)
	})
}
