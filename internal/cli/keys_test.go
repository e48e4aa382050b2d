package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/secret"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// fillSealed makes every kind of sealed value: provider settings (pools),
// credential files (two of three accounts wait in the queue, their files
// not yet delivered) and redeem codes (one redeemed).
func fillSealed(t *testing.T, h *apptest.Harness) ([]string, int64) {
	t.Helper()
	srv := h.Pool("srv", "server", 1, 0)
	h.Pool("team-1", "team", 5, 0)
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "hook", "kind": "team", "capacity": 0,
		"provider": map[string]any{"type": "webhook", "url": "https://hooks.example.com/berth", "secret": "s3cret-s3cret-s3cret"}}).MustStatus(t, 201)
	items := h.Import("A", apptest.Files("6392", 1, 3))
	if items[0].Status != "placed" || items[1].Status != "queued" || items[2].Status != "queued" {
		t.Fatalf("import: %+v", items)
	}
	var res struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 3, "max_uses": 1, "valid_for": "720h"}).MustStatus(t, 201).JSON(t, &res)
	redeemOK(t, h, "a@example.com", res.Codes[0])
	return res.Codes, srv
}

func redeemOK(t *testing.T, h *apptest.Harness, email, code string) {
	t.Helper()
	r := h.DoAuth("POST", "/api/v1/public/redeem", map[string]string{"email": email, "code": code}, "")
	if r.Status != 200 || !bytes.Contains(r.Body, []byte("team-1")) {
		t.Fatalf("redeem %s: %d %s", code, r.Status, r.Body)
	}
}

// checkSealedOpen: after the rotation everything sealed opens with the new
// key: the queued accounts' files are delivered when room appears, codes
// redeem (their lookup hashes were recomputed), provider settings open.
func checkSealedOpen(t *testing.T, h *apptest.Harness, codes []string, srv int64) {
	t.Helper()
	redeemOK(t, h, "a@example.com", codes[0]) // the earlier redeem is found again
	redeemOK(t, h, "b@example.com", codes[1])
	pools := h.Do("GET", "/api/v1/pools", nil).MustStatus(t, 200)
	if !bytes.Contains(pools.Body, []byte(`"secret": "(set)"`)) {
		t.Fatalf("webhook settings do not open: %s", pools.Body)
	}
	h.Do("PATCH", fmt.Sprintf("/api/v1/pools/%d", srv), map[string]any{"capacity": 3}).MustStatus(t, 200)
	apptest.Eventually(t, 20*time.Second, "queued accounts delivered", func() bool {
		for i := 1; i <= 3; i++ {
			want := fmt.Sprintf("SQLite format 3\x00 session of 6392%d", i)
			if got, ok := h.Sims.Get("srv").File(fmt.Sprintf("6392%d.session", i)); !ok || string(got) != want {
				return false
			}
		}
		return true
	})
}

func keyID(t *testing.T, path string) string {
	t.Helper()
	k, err := secret.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return secret.KeyID(k)
}

// TestKeysRotate: berth keys rotate re-seals everything under a new key; an
// interrupted rotation keeps berth from starting and is finished by running
// the command again; berth then starts with the new key and every sealed
// value opens, and the old key is refused.
func TestKeysRotate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dsn := storetest.DSN(t, d)
		kf := filepath.Join(t.TempDir(), "berth.key")
		withFile := func(c *app.Config) { c.KeyFile = kf }
		h, err := apptest.StartKeyed(t, dsn, withFile)
		if err != nil {
			t.Fatal(err)
		}
		codes, srv := fillSealed(t, h)
		h.App.Close(context.Background())
		oldID := keyID(t, kf)

		env := map[string]string{"BERTH_SECRET_KEY": "", "BERTH_KEY_FILE": "", "BERTH_DB": ""}
		// Interrupted after its first batch (of one row).
		batches := 0
		rotateAfterBatch = func() error { batches++; return errors.New("interrupted by the test") }
		out, errOut, code := run(t, env, "keys", "rotate", "--db", dsn, "--key-file", kf, "--batch", "1")
		rotateAfterBatch = nil
		if code != 1 || batches != 1 || !strings.Contains(errOut, "run berth keys rotate again to finish") {
			t.Fatalf("interrupted rotate: code %d, %d batches\n%s\n%s", code, batches, out, errOut)
		}
		newID := keyID(t, kf+".new")
		if st, _ := os.Stat(kf + ".new"); st.Mode().Perm() != 0o600 {
			t.Fatalf("new key file mode %v", st.Mode().Perm())
		}
		for _, k := range []string{kf, kf + ".new"} {
			_, err := apptest.StartKeyed(t, dsn, func(c *app.Config) { c.KeyFile = k })
			if err == nil || !strings.Contains(err.Error(), "did not finish") || !strings.Contains(err.Error(), newID) {
				t.Fatalf("start during a rotation with %s: %v", k, err)
			}
		}
		out, errOut, code = run(t, env, "keys", "status", "--db", dsn, "--key-file", kf)
		if code != 0 || !strings.Contains(out, "unfinished rotation to "+newID) {
			t.Fatalf("keys status: %d\n%s\n%s", code, out, errOut)
		}

		// The re-run finishes.
		out, errOut, code = run(t, env, "keys", "rotate", "--db", dsn, "--key-file", kf, "--batch", "2")
		if code != 0 || !strings.Contains(out, "finishing the rotation from key "+oldID+" to key "+newID) ||
			!strings.Contains(out, "the database's key is now "+newID) {
			t.Fatalf("rotate again: %d\n%s\n%s", code, out, errOut)
		}
		if keyID(t, kf) != newID || keyID(t, kf+".old") != oldID {
			t.Fatal("key files not swapped")
		}
		if _, err := os.Stat(kf + ".new"); !errors.Is(err, os.ErrNotExist) {
			t.Fatal(".new left behind")
		}
		if st, _ := os.Stat(kf); st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v", st.Mode().Perm())
		}

		// The old key is refused, and the message names where it is not.
		if _, err := apptest.StartKeyed(t, dsn, func(c *app.Config) { c.KeyFile = kf + ".old" }); err == nil ||
			!strings.Contains(err.Error(), "the database expects "+newID) {
			t.Fatalf("start with the old key: %v", err)
		}
		h, err = apptest.StartKeyed(t, dsn, withFile)
		if err != nil {
			t.Fatal(err)
		}
		defer h.App.Close(context.Background())
		checkSealedOpen(t, h, codes, srv)
	})
}

// TestKeysRotateWithEnvKey: with BERTH_SECRET_KEY the new key is written to
// --new-key-file (required) and becomes the next BERTH_SECRET_KEY.
func TestKeysRotateWithEnvKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dsn := storetest.DSN(t, d)
		oldKey := base64.StdEncoding.EncodeToString(secret.NewKey())
		h, err := apptest.StartKeyed(t, dsn, func(c *app.Config) { c.SecretKey = oldKey })
		if err != nil {
			t.Fatal(err)
		}
		codes, srv := fillSealed(t, h)
		h.App.Close(context.Background())

		env := map[string]string{"BERTH_SECRET_KEY": oldKey, "BERTH_KEY_FILE": "", "BERTH_DB": ""}
		_, errOut, code := run(t, env, "keys", "rotate", "--db", dsn)
		if code != 2 || !strings.Contains(errOut, "--new-key-file") {
			t.Fatalf("rotate without --new-key-file: %d %s", code, errOut)
		}
		nf := filepath.Join(t.TempDir(), "next.key")
		out, errOut, code := run(t, env, "keys", "rotate", "--db", dsn, "--new-key-file", nf)
		if code != 0 || !strings.Contains(out, "set BERTH_SECRET_KEY to the content of "+nf) {
			t.Fatalf("rotate: %d\n%s\n%s", code, out, errOut)
		}
		newKey, _ := os.ReadFile(nf)
		if _, err := apptest.StartKeyed(t, dsn, func(c *app.Config) { c.SecretKey = oldKey }); err == nil ||
			!strings.Contains(err.Error(), "set BERTH_SECRET_KEY to the key that was made with it") {
			t.Fatalf("start with the old key: %v", err)
		}
		h, err = apptest.StartKeyed(t, dsn, func(c *app.Config) { c.SecretKey = strings.TrimSpace(string(newKey)) })
		if err != nil {
			t.Fatal(err)
		}
		defer h.App.Close(context.Background())
		checkSealedOpen(t, h, codes, srv)
	})
}
