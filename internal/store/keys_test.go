package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/secret"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

func box(t *testing.T, b byte) *secret.Box {
	t.Helper()
	x, err := secret.New(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// sealedData fills a store with every kind of sealed value and returns the
// codes' display forms.
func sealedData(t *testing.T, s *store.Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for i := range n {
		if _, err := s.PoolCreate(ctx, store.PoolCreateParams{Name: fmt.Sprintf("p%d", i), Kind: model.KindServer, Capacity: 1,
			ProviderType: "sim", ProviderConfig: []byte(fmt.Sprintf(`{"secret":"s%d"}`, i))}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: fmt.Sprintf("m%d", i),
			FileName: fmt.Sprintf("m%d.session", i), FileData: []byte(fmt.Sprintf("file %d", i))}); err != nil {
			t.Fatal(err)
		}
		d := codes.New("K")
		norm, _ := codes.Normalize(d)
		if _, err := s.CodeCreate(ctx, store.CodeCreateParams{Display: d, Normalized: norm, Hint: codes.Hint(norm), MaxUses: 1}); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("k%d", i)
		if _, _, err := s.IdemBegin(ctx, "0:admin", "POST /api/v1/codes/batch", key, []byte(key)); err != nil {
			t.Fatal(err)
		}
		if err := s.IdemFinish(ctx, "0:admin", "POST /api/v1/codes/batch", key, 201, []byte(`{"codes":["`+d+`"]}`)); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// sealedDB opens the database at dsn under key, fills it with sealedData
// and closes it again; it returns the codes' display forms.
func sealedDB(t *testing.T, dsn string, key *secret.Box, n int) []string {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, key)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return sealedData(t, s, n)
}

// checkAllOpen reads every sealed value back through the store's own
// methods (as delivery, redeem and provider opening do).
func checkAllOpen(t *testing.T, s *store.Store, n int, displays []string) {
	t.Helper()
	ctx := context.Background()
	pools, err := s.PoolList(ctx, "")
	if err != nil || len(pools) != n {
		t.Fatalf("pools: %d, %v", len(pools), err)
	}
	for _, p := range pools {
		if _, cfg, err := s.PoolProvider(ctx, p.ID); err != nil || !bytes.Contains(cfg, []byte(`"secret":"s`)) {
			t.Fatalf("pool %s settings: %q %v", p.Name, cfg, err)
		}
	}
	for i := range n {
		m, err := s.MemberGetByExternal(ctx, model.KindServer, fmt.Sprintf("m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, data, err := s.MemberFile(ctx, m.ID); err != nil || string(data) != fmt.Sprintf("file %d", i) {
			t.Fatalf("member m%d file: %q %v", i, data, err)
		}
	}
	for _, d := range displays {
		norm, _ := codes.Normalize(d)
		c, err := s.CodeByLookup(ctx, norm, false)
		if err != nil || c.Display != d {
			t.Fatalf("code %s: %+v %v", d, c.Display, err)
		}
	}
	for i, d := range displays {
		key := fmt.Sprintf("k%d", i)
		rec, _, err := s.IdemBegin(ctx, "0:admin", "POST /api/v1/codes/batch", key, []byte(key))
		if err != nil || string(rec.Body) != `{"codes":["`+d+`"]}` {
			t.Fatalf("kept answer %s: %q %v", key, rec.Body, err)
		}
	}
}

func TestKeyCheckRefusesAnotherKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		a, b := box(t, 1), box(t, 2)
		dsn := storetest.DSN(t, d)
		displays := sealedDB(t, dsn, a, 2)

		_, err := store.Open(ctx, dsn, b)
		var mm *store.KeyMismatchError
		if !errors.As(err, &mm) || mm.Have != b.KeyID() || mm.Want != a.KeyID() {
			t.Fatalf("open with another key: %v, want a mismatch naming %s and %s", err, b.KeyID(), a.KeyID())
		}

		// A database from before key ids: sealed rows, no check value.
		s, err := store.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB.Exec(`DELETE FROM settings WHERE key = 'secret_key_id'`); err != nil {
			t.Fatal(err)
		}
		ks, err := s.KeyState(ctx)
		if err != nil || ks.KeyID != "" || !ks.Sealed {
			t.Fatalf("key state %+v %v", ks, err)
		}
		s.Close()
		if _, err = store.Open(ctx, dsn, b); !errors.As(err, &mm) || mm.Want != "" {
			t.Fatalf("old database with another key: %v, want a mismatch", err)
		}
		s, err = store.Open(ctx, dsn, a)
		if err != nil {
			t.Fatalf("old database with its key: %v", err)
		}
		checkAllOpen(t, s, 2, displays)
		if ks, _ := s.KeyState(ctx); ks.KeyID != a.KeyID() {
			t.Fatalf("key id not recorded on upgrade: %+v", ks)
		}
		s.Close()
		// Once recorded, the other key is refused by id.
		if _, err = store.Open(ctx, dsn, b); !errors.As(err, &mm) || mm.Want != a.KeyID() {
			t.Fatalf("after upgrade: %v", err)
		}
	})
}

func TestResealInterruptedThenFinished(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		a, b := box(t, 1), box(t, 2)
		dsn := storetest.DSN(t, d)
		const n = 5
		displays := sealedDB(t, dsn, a, n)

		s, err := store.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.RotateBegin(ctx, a.KeyID(), b.KeyID()); err != nil {
			t.Fatal(err)
		}
		stop := errors.New("interrupted")
		batches := 0
		done, err := s.Reseal(ctx, b, a, 2, func() error { batches++; return stop })
		if !errors.Is(err, stop) || done != 2 || batches != 1 {
			t.Fatalf("interrupted reseal: %d values, %d batches, %v", done, batches, err)
		}
		// Half way: berth refuses to start with either key.
		var ru *store.RotationUnfinishedError
		for _, k := range []*secret.Box{a, b} {
			if _, err := store.Open(ctx, dsn, k); !errors.As(err, &ru) || ru.To != b.KeyID() {
				t.Fatalf("start during a rotation: %v", err)
			}
		}
		// A value already re-sealed is written again under the old key (a
		// process still running with it): the check pass catches it.
		if _, err := s.DB.Exec(`UPDATE pools SET provider_config = $1 WHERE name = 'p0'`, a.Seal([]byte(`{"secret":"s0"}`))); err != nil {
			t.Fatal(err)
		}
		// A re-run of RotateBegin for the same rotation is a no-op.
		if err := s.RotateBegin(ctx, a.KeyID(), b.KeyID()); err != nil {
			t.Fatal(err)
		}
		done, err = s.Reseal(ctx, b, a, 2, nil)
		if err != nil || done != 4*n-2+1 {
			t.Fatalf("finish: %d values re-sealed, %v; want %d", done, err, 4*n-2+1)
		}
		if err := s.RotateFinish(ctx, b.KeyID()); err != nil {
			t.Fatal(err)
		}
		s.Close()

		var mm *store.KeyMismatchError
		if _, err := store.Open(ctx, dsn, a); !errors.As(err, &mm) || mm.Want != b.KeyID() {
			t.Fatalf("old key after rotation: %v", err)
		}
		s2, err := store.Open(ctx, dsn, b)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		checkAllOpen(t, s2, n, displays)
		// Nothing is left that only the old key opens.
		for _, q := range []string{`SELECT provider_config FROM pools`, `SELECT sealed FROM codes`, `SELECT file_data FROM members`,
			`SELECT body FROM idempotency_keys`} {
			rows, err := s2.DB.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var v []byte
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				if _, err := b.Open(v); err != nil {
					t.Fatalf("%s: a value the new key does not open", q)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
	})
}
