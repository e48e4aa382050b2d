package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A backup taken from an open database opens as a database of its own
// holding the same pools, with mode 0600; PostgreSQL is refused.
func TestBackup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := storetest.Open(t, d)
		if d == store.Postgres {
			if _, err := st.Backup(ctx, new(bytes.Buffer)); !errors.Is(err, store.ErrBackupPostgres) {
				t.Fatalf("Backup on PostgreSQL: %v, want ErrBackupPostgres", err)
			}
			return
		}
		storetest.Pool(t, st, store.PoolCreateParams{Name: "p1", Kind: "server", Capacity: 3})
		var buf bytes.Buffer
		n, err := st.Backup(ctx, &buf)
		if err != nil || n != int64(buf.Len()) || n == 0 {
			t.Fatalf("Backup: %d bytes, %v (buffer %d)", n, err, buf.Len())
		}
		path := filepath.Join(t.TempDir(), "copy.db")
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		cp := storetest.OpenDSN(t, path)
		if _, err := cp.PoolGetByName(ctx, "p1"); err != nil {
			t.Fatalf("the copy lacks pool p1: %v", err)
		}
		// No temporary file is left beside the database.
		entries, _ := os.ReadDir(filepath.Dir(st.DSN))
		for _, e := range entries {
			if e.IsDir() {
				t.Fatalf("left behind: %s", e.Name())
			}
		}
		to := filepath.Join(t.TempDir(), "to.db")
		if err := st.BackupTo(ctx, to); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(to); fi == nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("BackupTo mode: %v", fi)
		}
		if err := st.BackupTo(ctx, to); err == nil {
			t.Fatal("BackupTo over an existing file succeeded")
		}
	})
}
