package app_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/provider/sftp"
	"github.com/berthhq/berth/internal/provider/sftp/sshdtest"
)

// TestSFTPCommandAfterDelivery: a server pool's after_put runs over the
// same SSH connection after each delivery (a real OpenSSH sshd), and its
// result is in the history: exit 0 with the account's delivered row, exit 2
// (named permanent) as a member-permanent delivery failure, the account
// going to the other server; after_remove runs after the removal a drain
// makes. Bad command settings are a 422 that says what to change, and an
// operator may not set them.
func TestSFTPCommandAfterDelivery(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t)
	h := startAuth(t)
	root := t.TempDir()
	reload := filepath.Join(root, "reload-worker")
	if err := os.WriteFile(reload, []byte(`#!/bin/sh
test -f "$2" || { echo "no file at $2" >&2; exit 3; }
case "$1" in *2) echo "worker full for $1" >&2; exit 2;; esac
echo "reloaded $1"
`), 0o755); err != nil {
		t.Fatal(err)
	}
	removed := filepath.Join(root, "removed")
	unload := filepath.Join(root, "unload-worker")
	if err := os.WriteFile(unload, []byte("#!/bin/sh\necho \"$1\" >> "+removed+"\necho \"unloaded $1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{"type": "sftp", "host": srv.Host, "port": srv.Port, "user": srv.User,
		"private_key": srv.ClientKey, "host_key": sftp.Fingerprint(srv.Ed25519), "dir": filepath.Join(root, "sessions"),
		"after_put": []string{reload, "{account}", "{path}"}, "after_remove": []string{unload, "{account}"},
		"command_timeout_seconds": 10, "permanent_exit_codes": []int{2}}

	// Refused settings: 422 naming the problem; nothing created.
	bad := map[string]any{}
	for k, v := range settings {
		bad[k] = v
	}
	bad["after_put"] = []string{reload, "--account={account}"}
	r := h.Do("POST", "/api/v1/pools", map[string]any{"name": "worker-01", "kind": "server", "capacity": 3, "provider": bad})
	if r.Status != 422 || !strings.Contains(string(r.Body), "replaced only as whole elements") {
		t.Fatalf("placeholder inside an element: %d %s, want 422 saying so", r.Status, r.Body)
	}
	bad["after_put"], bad["permanent_exit_codes"] = []string{reload}, []int{0}
	r = h.Do("POST", "/api/v1/pools", map[string]any{"name": "worker-01", "kind": "server", "capacity": 3, "provider": bad})
	if r.Status != 422 || !strings.Contains(string(r.Body), "0 is not an exit code from 1 to 255") {
		t.Fatalf("exit code 0: %d %s, want 422 saying so", r.Status, r.Body)
	}

	var p struct{ ID int64 }
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "worker-01", "kind": "server", "capacity": 3, "priority": 0,
		"provider": settings}).MustStatus(t, 201).JSON(t, &p)
	h.Pool("backup", "server", 3, 1)

	// An operator may not change the command (provider settings: admin only).
	createUser(t, h, "otto", auth.RoleOperator)
	otto := signIn(t, h, "otto", testPassword)
	evil := map[string]any{"provider": map[string]any{"type": "sftp", "after_put": []string{"/bin/sh", "-c", "id"}}}
	if r := send(t, h, req{method: "PATCH", path: fmt.Sprintf("/api/v1/pools/%d", p.ID), body: evil, cookie: otto}); r.Status != 403 ||
		!strings.Contains(string(r.Body), "needs role admin") {
		t.Fatalf("operator setting after_put: %d %s, want 403", r.Status, r.Body)
	}

	h.Import("A", apptest.Files("acct", 1, 2))
	apptest.Eventually(t, 30*time.Second, "acct1 on worker-01, acct2 refused there and on backup", func() bool {
		p1, s1 := account(t, h, "acct1")
		p2, s2 := account(t, h, "acct2")
		return p1 == "worker-01" && s1 == "active" && p2 == "backup" && s2 == "active"
	})
	find := func(query, action, want string) histItem {
		t.Helper()
		items := history(t, h, query)
		for _, it := range items {
			if it.Action == action && strings.Contains(it.Reason, want) {
				return it
			}
		}
		t.Fatalf("no %s row with %q in the history of %s: %+v", action, want, query, items)
		return histItem{}
	}
	find("member=acct1", "delivered", `after_put exited 0; stdout: "reloaded acct1"`)
	failed := find("member=acct2", "delivery.failed", "after_put exited 2")
	if !strings.HasPrefix(failed.Reason, "member-permanent: ") || !strings.Contains(failed.Reason, `stderr: "worker full for acct2"`) {
		t.Errorf("acct2's failure row: %q", failed.Reason)
	}
	if _, err := os.Stat(filepath.Join(root, "sessions", "acct2.session")); err == nil {
		t.Error("acct2's file stayed on worker-01 after the member-permanent failure")
	}

	// A drain moves acct1 to backup; its removal from worker-01 runs
	// after_remove, noted in the released row.
	h.Do("POST", fmt.Sprintf("/api/v1/pools/%d/drain", p.ID), nil).MustStatus(t, 202)
	apptest.Eventually(t, 30*time.Second, "acct1 moved to backup and removed from worker-01", func() bool {
		b, _ := os.ReadFile(removed)
		pool, state := account(t, h, "acct1")
		return pool == "backup" && state == "active" && string(b) == "acct1\n"
	})
	apptest.Eventually(t, 10*time.Second, "the released row", func() bool {
		for _, it := range history(t, h, "member=acct1") {
			if it.Action == "released" && strings.Contains(it.Reason, `after_remove exited 0; stdout: "unloaded acct1"`) {
				return true
			}
		}
		return false
	})
}
