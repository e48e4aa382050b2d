package app_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/secret"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// startKeyed starts berth with its real key handling (no test Sealer).
func startKeyed(t *testing.T, dsn string, mutate func(*app.Config)) (*app.App, error) {
	h, err := apptest.StartKeyed(t, dsn, mutate)
	if err != nil {
		return nil, err
	}
	return h.App, nil
}

// keySettings reads the settings rows about the key, straight from the
// database.
func keySettings(t *testing.T, d store.Dialect, dsn string) string {
	t.Helper()
	driver, target := "pgx", dsn
	if d == store.SQLite {
		driver, target = "sqlite", "file:"+dsn+"?mode=ro"
	}
	db, err := sql.Open(driver, target)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT key, value FROM settings WHERE key LIKE 'secret_key%' ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		var k, v string
		rows.Scan(&k, &v)
		sb.WriteString(k + "=" + v + ";")
	}
	return sb.String()
}

// TestLostKeyFileRefusesToStart: with its key file gone berth used to make a
// new key, say it was ready, then fail every sealed value (500 "cannot open
// sealed value", 403 to valid codes). Now it refuses to start, says what to
// restore and writes nothing; a wrong BERTH_SECRET_KEY is refused too.
func TestLostKeyFileRefusesToStart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dsn := storetest.DSN(t, d)
		kf := filepath.Join(t.TempDir(), "berth.key")
		withFile := func(c *app.Config) { c.KeyFile = kf }
		a, err := startKeyed(t, dsn, withFile)
		if err != nil {
			t.Fatal(err)
		}
		if abs, _ := filepath.Abs(kf); a.NewKeyFile != abs {
			t.Fatalf("NewKeyFile %q, want %q", a.NewKeyFile, abs)
		}
		h := &apptest.Harness{T: t, App: a, DSN: dsn}
		h.Pool("team-1", "team", 5, 0)
		code := genCodes(t, h, 2, nil)
		if s, r := redeem(t, h, "a@example.com", code[0]); r.Status != 200 || s.Pool != "team-1" {
			t.Fatalf("redeem: %d %s", r.Status, r.Body)
		}
		a.Close(context.Background())
		keyBytes, err := os.ReadFile(kf)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := secret.ReadFile(kf)
		id := secret.KeyID(key)
		before := keySettings(t, d, dsn)
		if !strings.Contains(before, "secret_key_id="+id) {
			t.Fatalf("key check not recorded: %q", before)
		}

		// The key file is lost.
		os.Remove(kf)
		_, err = startKeyed(t, dsn, withFile)
		if err == nil || !strings.Contains(err.Error(), "the secret key file "+kf+" is missing") ||
			!strings.Contains(err.Error(), "restore the key file "+kf) || !strings.Contains(err.Error(), id) {
			t.Fatalf("start without the key file: %v", err)
		}
		if _, err := os.Stat(kf); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("a new key file was made for a database holding sealed data")
		}
		if after := keySettings(t, d, dsn); after != before {
			t.Fatalf("settings changed by a refused start: %q → %q", before, after)
		}

		// A wrong BERTH_SECRET_KEY.
		other := secret.NewKey()
		_, err = startKeyed(t, dsn, func(c *app.Config) { c.KeyFile = kf; c.SecretKey = base64.StdEncoding.EncodeToString(other) })
		if err == nil || !strings.Contains(err.Error(), "does not open this database's data") ||
			!strings.Contains(err.Error(), "the key's id is "+secret.KeyID(other)) || !strings.Contains(err.Error(), "the database expects "+id) {
			t.Fatalf("start with another key: %v", err)
		}
		// Another key file.
		wrong := filepath.Join(t.TempDir(), "wrong.key")
		secret.CreateFile(wrong)
		if _, err = startKeyed(t, dsn, func(c *app.Config) { c.KeyFile = wrong }); err == nil ||
			!strings.Contains(err.Error(), "restore the key file "+wrong) {
			t.Fatalf("start with another key file: %v", err)
		}

		// The key file restored: everything opens, the codes work.
		os.WriteFile(kf, keyBytes, 0o600)
		a, err = startKeyed(t, dsn, withFile)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close(context.Background())
		h = &apptest.Harness{T: t, App: a, DSN: dsn}
		if s, r := redeem(t, h, "b@example.com", code[1]); r.Status != 200 || s.Pool != "team-1" {
			t.Fatalf("redeem after restore: %d %s", r.Status, r.Body)
		}
		h.Do("GET", "/api/v1/codes", nil).MustStatus(t, 200)
	})
}

// TestPostgresNeedsExplicitKey: no ./berth.key is made or read on PostgreSQL.
func TestPostgresNeedsExplicitKey(t *testing.T) {
	// Not parallel: it changes the working directory (t.Chdir).
	dsn := storetest.DSN(t, store.Postgres)
	dir := t.TempDir()
	t.Chdir(dir)
	_, err := startKeyed(t, dsn, func(*app.Config) {})
	if !errors.Is(err, app.ErrPostgresNeedsKey) || !strings.Contains(err.Error(), "BERTH_SECRET_KEY") {
		t.Fatalf("start on PostgreSQL without a key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "berth.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("berth.key made in the working directory")
	}
	key := base64.StdEncoding.EncodeToString(secret.NewKey())
	a, err := startKeyed(t, dsn, func(c *app.Config) { c.SecretKey = key })
	if err != nil {
		t.Fatal(err)
	}
	a.Close(context.Background())
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files made in the working directory: %v", entries)
	}
}

// TestOldDatabaseGetsKeyCheck: a database made before key ids (sealed
// rows, no check value) starts with its key, which is then recorded; a
// wrong key is refused because a sealed value does not open.
func TestOldDatabaseGetsKeyCheck(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dsn := storetest.DSN(t, d)
		key := base64.StdEncoding.EncodeToString(secret.NewKey())
		withKey := func(c *app.Config) { c.SecretKey = key }
		a, err := startKeyed(t, dsn, withKey)
		if err != nil {
			t.Fatal(err)
		}
		h := &apptest.Harness{T: t, App: a, DSN: dsn}
		h.Pool("team-1", "team", 5, 0)
		code := genCodes(t, h, 1, nil)
		if _, err := a.Store.DB.Exec(`DELETE FROM settings WHERE key = 'secret_key_id'`); err != nil {
			t.Fatal(err)
		}
		a.Close(context.Background())

		other := base64.StdEncoding.EncodeToString(secret.NewKey())
		if _, err := startKeyed(t, dsn, func(c *app.Config) { c.SecretKey = other }); err == nil ||
			!strings.Contains(err.Error(), "does not open this database's data") {
			t.Fatalf("old database, wrong key: %v", err)
		}
		if s := keySettings(t, d, dsn); s != "" {
			t.Fatalf("a refused key was recorded: %q", s)
		}
		a, err = startKeyed(t, dsn, withKey)
		if err != nil {
			t.Fatalf("old database, its key: %v", err)
		}
		defer a.Close(context.Background())
		k, _ := secret.Parse(key)
		if s := keySettings(t, d, dsn); s != "secret_key_id="+secret.KeyID(k)+";" {
			t.Fatalf("key check after upgrade: %q", s)
		}
		h = &apptest.Harness{T: t, App: a, DSN: dsn}
		if s, r := redeem(t, h, "a@example.com", code[0]); r.Status != 200 || s.Pool != "team-1" {
			t.Fatalf("redeem: %d %s", r.Status, r.Body)
		}
	})
}

// TestFilesArePrivate: the SQLite database, its -wal and -shm files and the
// key file are made 0600 (the database was 0644).
func TestFilesArePrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dsn := filepath.Join(dir, "berth.db")
	a, err := startKeyed(t, dsn, func(*app.Config) {})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	h := &apptest.Harness{T: t, App: a, DSN: dsn}
	h.Pool("team-1", "team", 5, 0) // a write: the WAL exists
	for _, name := range []string{"berth.db", "berth.db-wal", "berth.db-shm", "berth.db.key"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, st.Mode().Perm())
		}
	}
}
