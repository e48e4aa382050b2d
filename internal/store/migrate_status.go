package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// MigrationState is one migration and whether the database has it.
type MigrationState struct {
	// Version is the migration's number (001_init.sql is 1).
	Version int `json:"version"`
	// Name is the script's file name; empty for a version the database
	// records but this binary does not embed (a newer berth applied it).
	Name string `json:"name"`
	// Applied is true when the database is at this version or past it
	// (berth_schema records versions, not when they were applied).
	Applied bool `json:"applied"`
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
	if n > 0 {
		if err := s.DB.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM berth_schema`).Scan(&current); err != nil {
			return nil, fmt.Errorf("read the schema version: %w", err)
		}
	}
	out := make([]MigrationState, 0, max(len(files), current))
	for i, f := range files {
		out = append(out, MigrationState{Version: i + 1, Name: path.Base(f), Applied: i+1 <= current})
	}
	for v := len(files) + 1; v <= current; v++ {
		out = append(out, MigrationState{Version: v, Applied: true})
	}
	return out, nil
}
