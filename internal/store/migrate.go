package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// migrations returns the numbered scripts of the store's dialect in order.
func (s *Store) migrations() ([]string, error) {
	dir := "migrations/" + string(s.Dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for i, n := range names {
		v, err := strconv.Atoi(strings.SplitN(n, "_", 2)[0])
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want number %03d", n, i+1)
		}
		names[i] = dir + "/" + n
	}
	return names, nil
}

// SchemaVersion is the number of migrations embedded in this binary.
func (s *Store) SchemaVersion() int {
	m, _ := s.migrations()
	return len(m)
}

// Migrate applies the embedded migrations that have not run yet. On
// PostgreSQL an advisory lock serialises replicas that start together.
func (s *Store) Migrate(ctx context.Context) error {
	files, err := s.migrations()
	if err != nil {
		return err
	}
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.Dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7304110)`); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7304110)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS berth_schema (version INTEGER NOT NULL, applied_at BIGINT)`); err != nil {
		return fmt.Errorf("create schema table: %w", err)
	}
	// Databases made before berth recorded when a migration ran get the
	// column now; their earlier rows keep it NULL.
	if has, err := s.schemaHasAppliedAt(ctx, conn); err != nil {
		return err
	} else if !has {
		if _, err := conn.ExecContext(ctx, `ALTER TABLE berth_schema ADD COLUMN applied_at BIGINT`); err != nil {
			return fmt.Errorf("add applied_at to the schema table: %w", err)
		}
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM berth_schema`).Scan(&current); err != nil {
		return err
	}
	if current > len(files) {
		return fmt.Errorf("database schema is version %d but this berth knows only %d: upgrade berth", current, len(files))
	}
	for i := current; i < len(files); i++ {
		body, err := migrationFS.ReadFile(files[i])
		if err != nil {
			return err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, stmt := range splitStatements(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %s: %w", files[i], err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO berth_schema (version, applied_at) VALUES ($1, $2)`, i+1, micros(time.Now())); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", files[i], err)
		}
	}
	return nil
}

// splitStatements splits a migration on semicolons at line ends; the
// migrations hold no procedural code, so this is enough.
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}
