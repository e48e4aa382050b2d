package app_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/provider/sftp"
	"github.com/berthhq/berth/internal/provider/sftp/sshdtest"
	"github.com/berthhq/berth/internal/store"
)

// TestSFTPDeliveryEndToEnd imports accounts onto two servers reached over a
// real OpenSSH sshd, checks the files on disk, then drains one server and
// checks the files moved (make before break) and were deleted from it.
func TestSFTPDeliveryEndToEnd(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t)
	h := apptest.Start(t, store.SQLite)
	root := t.TempDir()
	ids := map[string]int64{}
	for i, name := range []string{"worker-01", "los-angeles"} {
		var p struct{ ID int64 }
		h.Do("POST", "/api/v1/pools", map[string]any{"name": name, "kind": "server", "capacity": 3, "priority": i,
			"provider": map[string]any{"type": "sftp", "host": srv.Host, "port": srv.Port, "user": srv.User,
				"private_key": srv.ClientKey, "host_key": sftp.Fingerprint(srv.Ed25519), "dir": filepath.Join(root, name, "sessions")}}).
			MustStatus(t, 201).JSON(t, &p)
		ids[name] = p.ID
	}
	files := apptest.Files("6392773336", 1, 3)
	items := h.Import("A", files)
	for _, it := range items {
		if it.Pool != "worker-01" {
			t.Fatalf("placement %+v", it)
		}
	}
	onDisk := func(pool, name string) ([]byte, os.FileMode, bool) {
		p := filepath.Join(root, pool, "sessions", name)
		st, err := os.Stat(p)
		if err != nil {
			return nil, 0, false
		}
		data, _ := os.ReadFile(p)
		return data, st.Mode().Perm(), true
	}
	apptest.Eventually(t, 20*time.Second, "files delivered over SFTP", func() bool {
		for _, f := range files {
			if _, _, ok := onDisk("worker-01", f.Name); !ok {
				return false
			}
		}
		return true
	})
	for _, f := range files {
		data, mode, _ := onDisk("worker-01", f.Name)
		if string(data) != string(f.Data) || mode != 0o600 {
			t.Fatalf("%s: mode %v content %q", f.Name, mode, data)
		}
	}
	h.Do("POST", fmt.Sprintf("/api/v1/pools/%d/drain", ids["worker-01"]), nil).MustStatus(t, 202)
	apptest.Eventually(t, 20*time.Second, "files moved to los-angeles and deleted from worker-01", func() bool {
		for _, f := range files {
			if _, _, ok := onDisk("los-angeles", f.Name); !ok {
				return false
			}
			if _, _, ok := onDisk("worker-01", f.Name); ok {
				return false
			}
		}
		return true
	})
	entries, _ := os.ReadDir(filepath.Join(root, "worker-01", "sessions"))
	if len(entries) != 0 {
		t.Fatalf("worker-01 still holds %d entries", len(entries))
	}
	checkNoOverbooking(t, h)
}

// TestSFTPWrongHostKeyMarksPool: a server whose host key does not match the
// pin is never written to; the pool becomes credential_invalid and the
// account goes to the next server.
func TestSFTPWrongHostKeyMarksPool(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t)
	h := apptest.Start(t, store.SQLite)
	_, other := sshdtest.NewEd25519(t)
	root := t.TempDir()
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "impostor", "kind": "server", "capacity": 3, "priority": 0,
		"provider": map[string]any{"type": "sftp", "host": srv.Host, "port": srv.Port, "user": srv.User,
			"private_key": srv.ClientKey, "host_key": sftp.Fingerprint(other), "dir": filepath.Join(root, "impostor")}}).MustStatus(t, 201)
	h.Pool("backup", "server", 3, 1)
	h.Import("A", apptest.Files("acct", 1, 1))
	apptest.Eventually(t, 20*time.Second, "account re-placed on backup", func() bool {
		pool, state := account(t, h, "acct1")
		return pool == "backup" && state == "active"
	})
	if _, err := os.Stat(filepath.Join(root, "impostor")); err == nil {
		t.Fatal("wrote to a server whose host key did not match")
	}
	var p struct{ Status string }
	h.Do("GET", "/api/v1/pools/1", nil).JSON(t, &p)
	if p.Status != "credential_invalid" {
		t.Fatalf("impostor status %s", p.Status)
	}
}
