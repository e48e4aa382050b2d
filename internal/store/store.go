// Package store keeps berth's state in SQLite (the embedded default) or
// PostgreSQL behind one set of methods. SQL is written once in the portable
// subset both engines accept ($N parameters, RETURNING, ON CONFLICT); the
// schema differs only in column types and lives in migrations/<dialect>/.
//
// Secrets (provider settings) and credential files are sealed by the store
// itself on the way in and opened on the way out, so no caller can forget.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // SQLite driver "sqlite" (pure Go, no cgo)
)

// Dialect names the database engine.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Errors the store returns; callers match them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// Sealer encrypts values at rest (see package secret).
type Sealer interface {
	Seal(plain []byte) []byte
	Open(sealed []byte) ([]byte, error)
	// MAC is a keyed hash for looking values up without storing them.
	MAC(data []byte) string
}

type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Queries holds every data method; Store runs them on the pool, Tx inside a
// transaction.
type Queries struct {
	db      dbtx
	seal    Sealer
	now     func() time.Time
	dialect Dialect
}

// Store is an open berth database.
type Store struct {
	Queries
	// DB is the pool all writes (and River) go through. On SQLite it has one
	// connection: SQLite allows one writer, and one connection avoids
	// SQLITE_BUSY between the store and the job queue.
	DB *sql.DB
	// Read is a pool for reads that may run beside a write (SQLite WAL).
	Read    *sql.DB
	Dialect Dialect
	DSN     string
}

// ParseDSN tells the dialect of a --db value: a file path, sqlite:PATH or
// postgres://…
func ParseDSN(dsn string) (Dialect, string) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn
	case strings.HasPrefix(dsn, "sqlite:"):
		return SQLite, strings.TrimPrefix(dsn, "sqlite:")
	default:
		return SQLite, dsn
	}
}

// Open connects to dsn and applies pending migrations.
func Open(ctx context.Context, dsn string, seal Sealer) (*Store, error) {
	dialect, target := ParseDSN(dsn)
	s := &Store{Dialect: dialect, DSN: dsn}
	var err error
	switch dialect {
	case Postgres:
		s.DB, err = sql.Open("pgx", target)
		if err != nil {
			return nil, err
		}
		s.DB.SetMaxOpenConns(20)
		s.Read = s.DB
	case SQLite:
		if target == "" {
			return nil, errors.New("empty SQLite path")
		}
		params := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		s.DB, err = sql.Open("sqlite", "file:"+target+"?"+params)
		if err != nil {
			return nil, err
		}
		s.DB.SetMaxOpenConns(1)
		s.Read, err = sql.Open("sqlite", "file:"+target+"?"+params+"&_pragma=query_only(1)")
		if err != nil {
			return nil, err
		}
		s.Read.SetMaxOpenConns(4)
	}
	s.Queries = Queries{db: s.DB, seal: seal, now: func() time.Time { return time.Now().UTC() }, dialect: dialect}
	if err := s.DB.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pools.
func (s *Store) Close() error {
	if s.Read != nil && s.Read != s.DB {
		s.Read.Close()
	}
	if s.DB != nil {
		return s.DB.Close()
	}
	return nil
}

// SetClock replaces the clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Now is the store's clock.
func (q *Queries) Now() time.Time { return q.now() }

// Reader returns Queries that run on the read pool.
func (s *Store) Reader() *Queries {
	return &Queries{db: s.Read, seal: s.seal, now: s.now, dialect: s.Dialect}
}

// Tx is an open transaction. SQL gives River the same transaction so a job is
// enqueued atomically with the state change that needs it.
type Tx struct {
	Queries
	SQL *sql.Tx
}

// InTx runs fn in a transaction, committing when it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Queries: Queries{db: sqlTx, seal: s.seal, now: s.now, dialect: s.Dialect}, SQL: sqlTx}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.DB.PingContext(ctx) }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}
