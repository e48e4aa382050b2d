package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// An Idempotency-Key is held by one request, answers its retries, is freed
// by a failure, is the caller's and the route's own, and expires after
// IdempotencyTTL.
func TestIdempotencyKeys(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		st.SetClock(func() time.Time { return now })
		h1, h2 := []byte("hash-1"), []byte("hash-2")
		begin := func(caller, route, key string, hash []byte) (store.IdemRecord, bool) {
			t.Helper()
			rec, held, err := st.IdemBegin(ctx, caller, route, key, hash)
			if err != nil {
				t.Fatal(err)
			}
			return rec, held
		}
		if _, held := begin("1:ada", "POST /a", "k", h1); !held {
			t.Fatal("a new key is not held")
		}
		if rec, held := begin("1:ada", "POST /a", "k", h1); held || rec.Status != 0 || !bytes.Equal(rec.Hash, h1) {
			t.Fatalf("a running key: held %v, %+v", held, rec)
		}
		// Another caller or route has keys of its own.
		if _, held := begin("2:bob", "POST /a", "k", h2); !held {
			t.Error("another caller's key is taken")
		}
		if _, held := begin("1:ada", "POST /b", "k", h2); !held {
			t.Error("another route's key is taken")
		}
		if err := st.IdemFinish(ctx, "1:ada", "POST /a", "k", 201, []byte(`{"codes":["X"]}`)); err != nil {
			t.Fatal(err)
		}
		var sealed []byte
		if err := st.DB.QueryRowContext(ctx, `SELECT body FROM idempotency_keys WHERE caller = '1:ada' AND route = 'POST /a'`).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte(`"codes"`)) {
			t.Errorf("answer kept in clear: %q", sealed)
		}
		rec, held := begin("1:ada", "POST /a", "k", h2)
		if held || rec.Status != 201 || string(rec.Body) != `{"codes":["X"]}` || !bytes.Equal(rec.Hash, h1) {
			t.Fatalf("a finished key: held %v, %+v", held, rec)
		}
		// A finished key is never dropped; a running one is.
		if err := st.IdemDrop(ctx, "1:ada", "POST /a", "k"); err != nil {
			t.Fatal(err)
		}
		if _, held := begin("1:ada", "POST /a", "k", h1); held {
			t.Error("dropping freed a finished key")
		}
		if err := st.IdemDrop(ctx, "2:bob", "POST /a", "k"); err != nil {
			t.Fatal(err)
		}
		if _, held := begin("2:bob", "POST /a", "k", h1); !held {
			t.Error("a dropped key is not free")
		}
		// After the TTL, the key is a new one.
		now = now.Add(store.IdempotencyTTL - time.Second)
		if _, held := begin("1:ada", "POST /a", "k", h2); held {
			t.Error("a key expired before its time")
		}
		now = now.Add(2 * time.Second)
		if rec, held := begin("1:ada", "POST /a", "k", h2); !held || rec.Status != 0 {
			t.Errorf("an expired key: held %v, %+v", held, rec)
		}
	})
}
