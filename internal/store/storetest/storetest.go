// Package storetest opens isolated berth databases for tests: a temporary
// SQLite file, or a fresh schema in the PostgreSQL server named by
// BERTH_TEST_POSTGRES_URL (tests on PostgreSQL skip when it is unset).
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/secret"
	"github.com/berthhq/berth/internal/store"
)

// EnvPostgres names the variable holding the test PostgreSQL URL.
const EnvPostgres = "BERTH_TEST_POSTGRES_URL"

// Box returns a fixed-key sealer for tests.
func Box(t testing.TB) *secret.Box {
	b, err := secret.New(bytes.Repeat([]byte{42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Dialects lists the engines tests run on.
func Dialects() []store.Dialect { return []store.Dialect{store.SQLite, store.Postgres} }

// DSN returns a fresh, isolated database for dialect, or skips the test.
func DSN(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.SQLite {
		return filepath.Join(t.TempDir(), "berth.db")
	}
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " is unset: skipping the PostgreSQL run (.ci/run sets it; e.g. postgres://postgres@127.0.0.1:5432/test)")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "berth_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create test schema on %s: %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err == nil {
			a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			a.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns an open, migrated store for dialect, closed at cleanup.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	return OpenDSN(t, DSN(t, d))
}

// OpenDSN returns an open, migrated store on dsn (a database DSN made),
// closed at cleanup: each call is another replica on the same database.
func OpenDSN(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, Box(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Each runs fn once per dialect as a subtest.
func Each(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

// EachStore runs fn once per dialect as a subtest, with a fresh migrated
// store (Open) and a background context.
func EachStore(t *testing.T, fn func(t *testing.T, ctx context.Context, st *store.Store)) {
	Each(t, func(t *testing.T, d store.Dialect) { fn(t, context.Background(), Open(t, d)) })
}

// Pool creates the pool p describes and fails the test if it cannot. Where
// p leaves them empty, the pool is of the simulated provider ("sim", with
// settings {}) and created by the actor "test".
func Pool(t testing.TB, st *store.Store, p store.PoolCreateParams) model.Pool {
	t.Helper()
	if p.ProviderType == "" {
		p.ProviderType = "sim"
	}
	if p.ProviderConfig == nil {
		p.ProviderConfig = []byte("{}")
	}
	if p.Actor == "" {
		p.Actor = "test"
	}
	got, err := st.PoolCreate(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// NoJobs is a job queue (alloc.Enqueuer) that enqueues nothing: seats stay
// where the service put them.
type NoJobs struct{}

// Deliver does nothing.
func (NoJobs) Deliver(context.Context, *store.Tx, int64) error { return nil }

// DeliverMany does nothing.
func (NoJobs) DeliverMany(context.Context, *store.Tx, []int64) error { return nil }

// Remove does nothing.
func (NoJobs) Remove(context.Context, *store.Tx, int64) error { return nil }

// DrainQueue does nothing.
func (NoJobs) DrainQueue(context.Context, *store.Tx, model.Kind) error { return nil }
