package cli

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
)

// TestListingsTableAndJSON: every listing verb prints an aligned table by
// default and the API's JSON with -o json; an import with a rejected file
// exits 1 and says how many were placed, queued and rejected.
func TestListingsTableAndJSON(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	h.Pool("worker-01", "server", 1, 0)
	dir := t.TempDir()
	for n, data := range map[string]string{"639277333688.session": "s1", "639277333689.session": "s2", "639277333690.session": ""} {
		os.WriteFile(filepath.Join(dir, n), []byte(data), 0o600)
	}
	env := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": apptest.Token}

	out, errOut, code := run(t, env, "accounts", "import", "--script", "A", dir)
	if code != 1 || !strings.Contains(out, "1 placed, 1 queued, 1 rejected") || !strings.Contains(out, "639277333690  rejected") ||
		!strings.Contains(errOut, "1 of 3 files rejected") {
		t.Fatalf("import with a rejected file: code %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, env, "accounts", "import", "--script", "A", "-o", "json", filepath.Join(dir, "639277333690.session"))
	var batch struct {
		Rejected int
		Items    []struct{ Account, Status, Error string }
	}
	if code != 1 || json.Unmarshal([]byte(out), &batch) != nil || batch.Rejected != 1 || len(batch.Items) != 1 ||
		batch.Items[0].Error != "file is empty" || !strings.Contains(errOut, "0 placed, 0 queued, 1 rejected") {
		t.Fatalf("import -o json: code %d\n%s\n%s", code, out, errOut)
	}

	out, _, code = run(t, env, "pools", "list")
	if code != 0 || !strings.Contains(out, "ID  NAME       KIND    STATUS  USED/CAP  PRIORITY\n") || !strings.Contains(out, "worker-01  server  active  1/1") {
		t.Fatalf("pools list: %d\n%s", code, out)
	}
	out, _, code = run(t, env, "pools", "list", "-o", "json")
	var pools struct {
		Items []struct {
			Name           string
			Used, Capacity int
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &pools) != nil || len(pools.Items) != 1 || pools.Items[0].Name != "worker-01" || pools.Items[0].Used != 1 {
		t.Fatalf("pools list -o json: %d\n%s", code, out)
	}

	out, _, code = run(t, env, "history", "--member", "639277333688", "-o", "json")
	var hist struct {
		Items []struct{ Member, Action string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &hist) != nil || len(hist.Items) == 0 || hist.Items[0].Member != "639277333688" {
		t.Fatalf("history -o json: %d\n%s", code, out)
	}
	out, _, code = run(t, env, "history", "--member", "639277333688")
	if code != 0 || !strings.HasPrefix(out, "AT  ") || !strings.Contains(out, "placed") {
		t.Fatalf("history: %d\n%s", code, out)
	}

	out, _, code = run(t, env, "codes", "generate", "--count", "2", "--group", "vip", "--valid-for", "30d", "-o", "json")
	var gen struct{ Codes []string }
	if code != 0 || json.Unmarshal([]byte(out), &gen) != nil || len(gen.Codes) != 2 {
		t.Fatalf("codes generate -o json: %d\n%s", code, out)
	}
	out, _, code = run(t, env, "codes", "list")
	if code != 0 || !strings.HasPrefix(out, "CODE  ") || !strings.Contains(out, gen.Codes[0]+"  vip    unused  0/1       ") ||
		!strings.Contains(out, "720h0m0s") {
		t.Fatalf("codes list: %d\n%s", code, out)
	}
	out, _, code = run(t, env, "codes", "list", "-o", "json", "--status", "unused")
	var codes struct {
		Items []struct {
			Code     string
			ValidFor string `json:"valid_for"`
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &codes) != nil || len(codes.Items) != 2 || codes.Items[1].ValidFor != "720h0m0s" {
		t.Fatalf("codes list -o json: %d\n%s", code, out)
	}
	if out, _, code = run(t, env, "codes", "export"); code != 0 || !strings.HasPrefix(out, "code,group,status") {
		t.Fatalf("codes export stays CSV: %d\n%s", code, out)
	}

	out, _, code = run(t, env, "integrity", "-o", "json")
	var rep map[string]json.RawMessage
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || string(rep["orphans"]) != "[]" {
		t.Fatalf("integrity -o json: %d\n%s", code, out)
	}
}

// TestHelpAndUsageErrors: help needs no token and exits 0; a mistake on the
// command line exits 2 and says what to fix.
func TestHelpAndUsageErrors(t *testing.T) {
	noToken := map[string]string{"BERTH_ADMIN_TOKEN": "", "BERTH_URL": "http://127.0.0.1:1"}
	for _, args := range [][]string{{"pools", "-h"}, {"pools", "--help"}, {"codes", "help"}, {"accounts", "-h"}, {"pools", "list", "-h"},
		{"history", "-h"}, {"integrity", "--help"}, {"codes", "list", "-h"}} {
		_, errOut, code := run(t, noToken, args...)
		if code != 0 || !strings.Contains(errOut, "usage") && !strings.Contains(errOut, "Usage") || strings.Contains(errOut, "no admin token") {
			t.Errorf("%v: code %d\n%s", args, code, errOut)
		}
	}
	withToken := map[string]string{"BERTH_ADMIN_TOKEN": "x", "BERTH_URL": "http://127.0.0.1:1"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pools", "list", "-o", "yaml"}, `-o "yaml": want table or json`},
		{[]string{"history", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"history", "639277333688"}, "filter with --member"},
		{[]string{"codes", "generate", "--count", "2", "--valid-for", "30 days"}, `--valid-for`},
		{[]string{"integrity", "--repair", "5", "-o", "json"}, "run --repair without it"},
		{[]string{"pools"}, "say list, status or drain"},
	} {
		_, errOut, code := run(t, withToken, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "usage: berth ") {
			t.Errorf("%v: code %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestDurationFlagsTakeDays: the CLI's duration flags read days
// (model.ParseDuration) and keep their default when not given.
func TestDurationFlagsTakeDays(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	d := durationFlag(fs, "d", time.Minute, "")
	kept := 2 * time.Hour
	durationVar(fs, &kept, "k", "")
	if err := fs.Parse([]string{"-d", "1d12h"}); err != nil || *d != 36*time.Hour || kept != 2*time.Hour {
		t.Fatalf("-d 1d12h: %v %v %v", *d, kept, err)
	}
	if err := fs.Parse([]string{"-k", "a week"}); err == nil {
		t.Fatal("-k a week was taken")
	}
}

// TestAllPagesFollowsCursor: a listing of several pages is read whole, in
// order, each page asked with the previous page's next_cursor.
func TestAllPagesFollowsCursor(t *testing.T) {
	pages := map[string]string{
		"":   `{"items":[{"id":1},{"id":2}],"next_cursor":"c1"}`,
		"c1": `{"items":[{"id":3}],"next_cursor":"c2"}`,
		"c2": `{"items":[],"next_cursor":""}`,
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("kind") != "server" {
			http.Error(w, "kind lost", 400)
			return
		}
		c := r.URL.Query().Get("cursor")
		asked = append(asked, c)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, pages[c])
	}))
	defer srv.Close()
	c, err := newClient(srv.URL, "token-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.pages(context.Background(), "/api/v1/pools?kind=server", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(raw); got != `{"items":[{"id":1},{"id":2},{"id":3}]}` {
		t.Fatalf("all pages: %s", got)
	}
	if strings.Join(asked, ",") != ",c1,c2" {
		t.Fatalf("cursors asked %q", asked)
	}
}
