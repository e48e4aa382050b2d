package store_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// applied counts the applied states and checks the names and order.
func applied(t *testing.T, got []store.MigrationState) int {
	t.Helper()
	n := 0
	for i, m := range got {
		if m.Version != i+1 {
			t.Fatalf("row %d is version %d", i, m.Version)
		}
		if m.Applied {
			n++
		}
	}
	return n
}

func TestMigrationStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()

		// A database never migrated: everything pending, nothing created.
		fresh := storetest.DSN(t, d)
		if d == store.SQLite {
			if _, err := store.OpenUnmigrated(ctx, fresh); err == nil {
				t.Fatal("status of a missing SQLite file: no error")
			}
			if err := os.WriteFile(fresh, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		un, err := store.OpenUnmigrated(ctx, fresh)
		if err != nil {
			t.Fatal(err)
		}
		got, err := un.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != un.SchemaVersion() || len(got) < 6 || applied(t, got) != 0 {
			t.Fatalf("fresh database: %+v", got)
		}
		if got[0].Name != "001_init.sql" {
			t.Fatalf("first migration named %q", got[0].Name)
		}
		var tables int
		if err := un.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM berth_schema`).Scan(&tables); err == nil {
			t.Fatal("status created berth_schema")
		}
		un.Close()

		// Fully migrated.
		st := storetest.Open(t, d)
		got, err = st.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := applied(t, got); n != st.SchemaVersion() || len(got) != n {
			t.Fatalf("migrated database: %d of %d applied: %+v", n, len(got), got)
		}
		for _, m := range got {
			if m.AppliedAt == nil || time.Since(*m.AppliedAt) > time.Minute || time.Since(*m.AppliedAt) < 0 {
				t.Fatalf("migration %d applied at %v, want about now", m.Version, m.AppliedAt)
			}
		}

		// A database migrated before berth recorded the time: applied, no
		// time; migrating adds the column and keeps the old rows.
		if _, err := st.DB.ExecContext(ctx, `ALTER TABLE berth_schema DROP COLUMN applied_at`); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			got, err = st.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range got {
				if !m.Applied || m.AppliedAt != nil {
					t.Fatalf("no applied_at column: %+v", m)
				}
			}
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}

		// Left at version 3 (as a berth three migrations old would leave
		// it), then one version past this binary's.
		if _, err := st.DB.ExecContext(ctx, `DELETE FROM berth_schema WHERE version > 3`); err != nil {
			t.Fatal(err)
		}
		got, err = st.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if applied(t, got) != 3 || !got[2].Applied || got[3].Applied || len(got) != st.SchemaVersion() {
			t.Fatalf("partly migrated database: %+v", got)
		}
		if _, err := st.DB.ExecContext(ctx, `INSERT INTO berth_schema (version) VALUES ($1)`, st.SchemaVersion()+1); err != nil {
			t.Fatal(err)
		}
		got, err = st.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last := got[len(got)-1]
		if len(got) != st.SchemaVersion()+1 || !last.Applied || last.Name != "" || applied(t, got) != len(got) {
			t.Fatalf("database past this binary: %+v", got)
		}
	})
}
