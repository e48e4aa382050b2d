package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// MigrationState is one migration and whether the database has it.
type MigrationState struct {
	// Version is the migration's number (001_init.sql is 1).
	Version int `json:"version"`
	// Name is the script's file name; empty for a version the database
	// records but this binary does not embed (a newer berth applied it).
	Name string `json:"name"`
	// Applied is true when the database is at this version or past it.
	Applied bool `json:"applied"`
	// AppliedAt is when the migration ran, nil when the database does not
	// say (pending, or applied by a berth that did not record it).
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

// OpenUnmigrated connects to dsn without applying migrations and without a
// key, for reading the schema's state (MigrationStatus) only. Unlike Open
// it does not create a missing SQLite file.
func OpenUnmigrated(ctx context.Context, dsn string) (*Store, error) {
	if d, target := ParseDSN(dsn); d == SQLite && target != ":memory:" && !strings.HasPrefix(target, "file:") {
		if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no SQLite database at %s: check --db (berth migrate or serve creates it)", target)
		} else if err != nil {
			return nil, err
		}
	}
	return open(ctx, dsn, nil, false)
}

// MigrationStatus lists the migrations embedded for the store's dialect,
// each applied or pending, followed by any version the database records
// beyond them. It changes nothing: a database never migrated has every
// migration pending.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	files, err := s.migrations()
	if err != nil {
		return nil, err
	}
	exists := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'berth_schema'`
	if s.Dialect == Postgres {
		exists = `SELECT COUNT(*) FROM (SELECT to_regclass('berth_schema') AS t) r WHERE t IS NOT NULL`
	}
	var n, current int
	if err := s.DB.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return nil, fmt.Errorf("look for the schema table: %w", err)
	}
	when := map[int]time.Time{}
	if n > 0 {
		if err := s.DB.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM berth_schema`).Scan(&current); err != nil {
			return nil, fmt.Errorf("read the schema version: %w", err)
		}
		if when, err = s.appliedTimes(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]MigrationState, 0, max(len(files), current))
	for v := 1; v <= max(len(files), current); v++ {
		m := MigrationState{Version: v, Applied: v <= current}
		if v <= len(files) {
			m.Name = path.Base(files[v-1])
		}
		if t, ok := when[v]; ok && m.Applied {
			m.AppliedAt = &t
		}
		out = append(out, m)
	}
	return out, nil
}

// appliedTimes reads when each version was applied, where berth_schema
// records it (applied_at, added by Migrate; absent from a database no
// berth since then has migrated).
func (s *Store) appliedTimes(ctx context.Context) (map[int]time.Time, error) {
	when := map[int]time.Time{}
	if has, err := s.schemaHasAppliedAt(ctx, s.DB); err != nil || !has {
		return when, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT version, applied_at FROM berth_schema WHERE applied_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read the schema's applied times: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			return nil, err
		}
		when[v] = fromMicros(at)
	}
	return when, rows.Err()
}

// schemaHasAppliedAt tells whether berth_schema (which must exist) has
// the applied_at column.
func (s *Store) schemaHasAppliedAt(ctx context.Context, q dbtx) (bool, error) {
	query := `SELECT COUNT(*) FROM pragma_table_info('berth_schema') WHERE name = 'applied_at'`
	if s.Dialect == Postgres {
		query = `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'berth_schema' AND column_name = 'applied_at'`
	}
	var n int
	if err := q.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return false, fmt.Errorf("look for berth_schema.applied_at: %w", err)
	}
	return n > 0, nil
}
