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
	"os"
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

	// On SQLite, the prepared statements of DB and Read (stmtcache.go);
	// nil on PostgreSQL, whose driver caches statements itself.
	stmts, readStmts *stmtCache

	// On SQLite, the process's lock on the database (lock.go).
	unlock func()
	owner  bool
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

// Open connects to dsn and applies pending migrations. A seal that names
// its key (secret.Box) is checked against the database's data (UseKey:
// a *KeyMismatchError when it is not the key the data is sealed under). A
// nil seal opens the database for reading its key state only: UseKey must
// be called before anything is sealed or opened (app.OpenStore does).
func Open(ctx context.Context, dsn string, seal Sealer) (*Store, error) {
	return open(ctx, dsn, seal, true)
}

// open connects to dsn, applying pending migrations when migrate is set.
func open(ctx context.Context, dsn string, seal Sealer, migrate bool) (*Store, error) {
	dialect, target := ParseDSN(dsn)
	s := &Store{Dialect: dialect, DSN: dsn}
	var err error
	switch dialect {
	case Postgres:
		s.DB, err = sql.Open("pgx", target)
		if err != nil {
			return nil, err
		}
		// Writes (the placers' batches, jobs) and reads (the checks before
		// any lock, status pages, listings, index rebuilds) get pools of
		// their own, so a flood of reads — wrong codes by the thousand —
		// never leaves a batch waiting for a connection.
		// 16 + 8 connections a replica: three replicas stay well inside
		// PostgreSQL's default max_connections (100).
		s.DB.SetMaxOpenConns(16)
		s.DB.SetMaxIdleConns(8)
		if s.Read, err = sql.Open("pgx", target); err != nil {
			s.DB.Close()
			return nil, err
		}
		s.Read.SetMaxOpenConns(8)
		s.Read.SetMaxIdleConns(8)
	case SQLite:
		if target == "" {
			return nil, errors.New("empty SQLite path")
		}
		if s.unlock, s.owner, err = lockSQLite(target); err != nil {
			return nil, err
		}
		if err := createPrivate(target); err != nil {
			s.unlock()
			return nil, err
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
		// Readers (the checks before any lock, status pages, listings) run
		// beside the writer in WAL mode. Idle connections are kept, so
		// their prepared statements are (database/sql's default keeps 2
		// and closes the rest after each use, preparing anew next time).
		s.Read.SetMaxOpenConns(8)
		s.Read.SetMaxIdleConns(8)
		s.stmts = newStmtCache(s.DB, stmtCacheLimit)
		s.readStmts = newStmtCache(s.Read, stmtCacheLimit)
	}
	s.Queries = Queries{db: s.writer(), seal: seal, now: func() time.Time { return time.Now().UTC() }, dialect: dialect}
	if err := s.DB.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	if migrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	if seal != nil {
		if err := s.UseKey(ctx, seal); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// createPrivate creates a new SQLite database file with mode 0600 (SQLite
// would make it 0644); SQLite gives its -wal and -shm files the database
// file's mode. An existing file is left as it is.
func createPrivate(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create SQLite database: %w", err)
	}
	return f.Close()
}

// Close closes the cached statements and the pools.
func (s *Store) Close() error {
	if s.unlock != nil {
		defer s.unlock() // after the pools are closed
	}
	if s.stmts != nil {
		s.stmts.Close()
		s.readStmts.Close()
	}
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
	var db dbtx = s.Read
	if s.readStmts != nil {
		db = s.readStmts
	}
	return &Queries{db: db, seal: s.seal, now: s.now, dialect: s.Dialect}
}

// writer is what the store's own Queries run on: the write pool, through
// its statement cache on SQLite.
func (s *Store) writer() dbtx {
	if s.stmts != nil {
		return s.stmts
	}
	return s.DB
}

// SetStmtCacheLimit sets how many distinct query strings each SQLite pool
// keeps prepared; 0 turns the cache off (tests, benchmarks). Call it before
// the store is used. No-op on PostgreSQL.
func (s *Store) SetStmtCacheLimit(n int) {
	if s.Dialect != SQLite {
		return
	}
	if n <= 0 {
		if s.stmts != nil {
			s.stmts.Close()
			s.readStmts.Close()
			s.stmts, s.readStmts = nil, nil
		}
	} else if s.stmts == nil {
		s.stmts, s.readStmts = newStmtCache(s.DB, n), newStmtCache(s.Read, n)
	} else {
		s.stmts.setLimit(n)
		s.readStmts.setLimit(n)
	}
	s.Queries.db = s.writer()
}

// StmtCacheStats describes the statement caches of the write and the read
// pool (zero on PostgreSQL, or with the cache off).
func (s *Store) StmtCacheStats() (write, read StmtCacheStats) {
	if s.stmts == nil {
		return
	}
	return s.stmts.stats(), s.readStmts.stats()
}

// Tx is an open transaction. SQL gives River the same transaction so a job is
// enqueued atomically with the state change that needs it.
type Tx struct {
	Queries
	SQL *sql.Tx
}

// InTx runs fn in a transaction, committing when it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.stmts != nil {
		// Statements first met in an earlier transaction: they can only be
		// prepared on the pool while no transaction holds its connection.
		s.stmts.preparePending(ctx)
	}
	sqlTx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var db dbtx = sqlTx
	if s.stmts != nil {
		db = s.stmts.inTx(sqlTx)
	}
	tx := &Tx{Queries: Queries{db: db, seal: s.seal, now: s.now, dialect: s.Dialect}, SQL: sqlTx}
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
