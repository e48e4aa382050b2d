package store_test

import (
	"context"
	"testing"

	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A process holds its SQLite database's lock from Open to Close. Stores the
// same process opens on the file share it, and only the first owns the
// database (another process is refused: internal/app's
// TestSQLiteOneProcessPerDatabase). PostgreSQL is never owned.
func TestSQLiteLockOwner(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, store.SQLite)
	open := func() *store.Store {
		t.Helper()
		s, err := store.Open(ctx, dsn, storetest.Box(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := open()
	second := open()
	if !first.SoleOwner() || second.SoleOwner() {
		t.Fatalf("owners: first %v, second %v; want true, false", first.SoleOwner(), second.SoleOwner())
	}
	first.Close()
	second.Close()
	second.Close() // a second Close does not release a lock twice
	again := open()
	defer again.Close()
	if !again.SoleOwner() {
		t.Fatal("the lock was not released by Close")
	}
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		if d == store.Postgres && storetest.Open(t, d).SoleOwner() {
			t.Error("a PostgreSQL store owns its database")
		}
	})
}
