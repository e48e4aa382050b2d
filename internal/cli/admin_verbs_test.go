package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
)

// TestPoolsCreateEdit: pools create makes a sim server pool and a webhook
// team pool (a secret read from a file, answered as "(set)" and never
// printed), pools edit changes capacity, pools list shows both; mistakes
// exit 2 and API refusals print the server's detail.
func TestPoolsCreateEdit(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	env := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": apptest.Token}
	out, errOut, code := run(t, env, "pools", "create", "--name", "srv-1", "--kind", "server", "--capacity", "3", "--priority", "5",
		"--label", "region=eu", "--provider-type", "sim", "--provider-setting", "latency_ms=0", "--provider-setting", "fail_rate=0", "-o", "json")
	var srv struct {
		ID       int64
		Name     string
		Capacity int
		Priority int
		Labels   map[string]string
		Provider map[string]any
	}
	if code != 0 || json.Unmarshal([]byte(out), &srv) != nil || srv.Name != "srv-1" || srv.Capacity != 3 || srv.Priority != 5 ||
		srv.Labels["region"] != "eu" || srv.Provider["type"] != "sim" {
		t.Fatalf("pools create sim: %d\n%s\n%s", code, out, errOut)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("hook-secret-0123456789abcdef\n"), 0o600)
	out, errOut, code = run(t, env, "pools", "create", "--name", "team-1", "--kind", "team", "--capacity", "10",
		"--provider-type", "webhook", "--provider-setting", "url=https://example.com/hook", "--provider-setting", "secret=@"+secret)
	if code != 0 || !strings.Contains(out, "team-1") || !strings.Contains(out, "webhook") || strings.Contains(out, "hook-secret") {
		t.Fatalf("pools create team: %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, env, "pools", "list", "-o", "json", "--kind", "team")
	if code != 0 || !strings.Contains(out, `"secret": "(set)"`) || strings.Contains(out, "hook-secret") {
		t.Fatalf("team pool's secret: %d\n%s\n%s", code, out, errOut)
	}

	out, errOut, code = run(t, env, "pools", "edit", "1", "--capacity", "7")
	if code != 0 || !strings.Contains(out, "0/7") {
		t.Fatalf("pools edit: %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = run(t, env, "pools", "list")
	if code != 0 || !strings.Contains(out, "srv-1") || !strings.Contains(out, "0/7") || !strings.Contains(out, "team-1") || !strings.Contains(out, "0/10") {
		t.Fatalf("pools list: %d\n%s", code, out)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"pools", "create", "--name", "x", "--kind", "server"}, 2, "pools create --name N"},
		{[]string{"pools", "create", "--name", "x", "--kind", "server", "--capacity", "1", "--provider-setting", "latency_ms=1"}, 2, "give --provider-type"},
		{[]string{"pools", "create", "--name", "x", "--kind", "server", "--capacity", "1", "--provider-type", "sim", "--provider-setting", "latency_ms=fast"}, 2, `"fast" is not an integer`},
		{[]string{"pools", "create", "--name", "x", "--kind", "server", "--capacity", "1", "--provider-type", "sim", "--provider-setting", "speed=1"}, 2, "provider sim takes dir, down, fail_rate, latency_ms"},
		{[]string{"pools", "edit", "1"}, 2, "nothing to change"},
		{[]string{"pools", "edit", "1", "--capacity", "-5"}, 1, "capacity must be between 0"},
		{[]string{"pools", "create", "--name", "srv-1", "--kind", "server", "--capacity", "1", "--provider-type", "sim"}, 1, "srv-1"},
	} {
		_, errOut, code := run(t, env, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

// TestUsersAndTokens: users create|list|edit through the CLI; a user's
// personal token lists, creates (shown once) and revokes tokens, the list
// never shows a secret, and a revoked token is refused.
func TestUsersAndTokens(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	env := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": apptest.Token}
	pwFile := filepath.Join(t.TempDir(), "pw")
	const password = "correct horse battery staple 42"
	os.WriteFile(pwFile, []byte(password+"\n"), 0o600)

	out, errOut, code := run(t, env, "users", "create", "--name", "tom", "--role", "viewer", "--password", "@"+pwFile, "-o", "json")
	var tom struct {
		ID   int64
		Role string
	}
	if code != 0 || json.Unmarshal([]byte(out), &tom) != nil || tom.ID == 0 || tom.Role != "viewer" || strings.Contains(out, password) {
		t.Fatalf("users create: %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = run(t, env, "users", "list")
	if code != 0 || !strings.HasPrefix(out, "ID  NAME") || !strings.Contains(out, "tom    viewer") {
		t.Fatalf("users list: %d\n%s", code, out)
	}
	id := strings.TrimSpace(strings.Fields(out[strings.Index(out, "tom")-4:])[0])
	if out, errOut, code = run(t, env, "users", "edit", id, "--role", "operator"); code != 0 || !strings.Contains(out, "operator") {
		t.Fatalf("users edit --role: %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code = run(t, env, "users", "edit", id, "--role", "root"); code != 1 || !strings.Contains(errOut, `role "root": use viewer, operator or admin`) {
		t.Fatalf("users edit bad role: %d\n%s", code, errOut)
	}
	if _, errOut, code = run(t, env, "users", "edit", id); code != 2 || !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("users edit nothing: %d\n%s", code, errOut)
	}

	// The admin token owns no personal tokens: the API says so.
	if _, errOut, code = run(t, env, "tokens", "create", "--name", "ci"); code != 1 || !strings.Contains(errOut, "sign in as a user") {
		t.Fatalf("tokens create with the admin token: %d\n%s", code, errOut)
	}
	// tom's first token, made in a signed-in session.
	r := h.DoAuth("POST", "/api/v1/session", map[string]string{"username": "tom", "password": password}, "")
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		cookie = c
	}
	if r.Status != 200 || cookie == nil {
		t.Fatalf("sign in: %d %s", r.Status, r.Body)
	}
	req, _ := http.NewRequest("POST", h.App.URL+"/api/v1/tokens", bytes.NewReader([]byte(`{"name":"first"}`)))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(cookie)
	var first struct{ Token string }
	apptest.Send(t, req).MustStatus(t, 201).JSON(t, &first)

	tomEnv := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": first.Token}
	out, errOut, code = run(t, tomEnv, "tokens", "create", "--name", "ci")
	if code != 0 || !strings.Contains(out, "Store it now") {
		t.Fatalf("tokens create: %d\n%s\n%s", code, out, errOut)
	}
	ciToken := strings.TrimSpace(strings.Split(out, "\n")[1])
	out, _, code = run(t, tomEnv, "tokens", "list", "-o", "json")
	var list struct {
		Items []struct {
			ID   int64
			Name string
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 2 || strings.Contains(out, ciToken) || strings.Contains(out, first.Token) {
		t.Fatalf("tokens list -o json: %d\n%s", code, out)
	}
	out, _, code = run(t, tomEnv, "tokens", "list")
	if code != 0 || !strings.Contains(out, "ci") || !strings.Contains(out, "first") || strings.Contains(out, ciToken) {
		t.Fatalf("tokens list: %d\n%s", code, out)
	}
	ciEnv := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": ciToken}
	if _, errOut, code = run(t, ciEnv, "pools", "list"); code != 0 {
		t.Fatalf("new token refused: %d %s", code, errOut)
	}
	var ciID string
	for _, it := range list.Items {
		if it.Name == "ci" {
			ciID = strconv.FormatInt(it.ID, 10)
		}
	}
	if out, errOut, code = run(t, tomEnv, "tokens", "revoke", ciID); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("tokens revoke: %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code = run(t, ciEnv, "pools", "list"); code != 1 || !strings.Contains(errOut, "401") && !strings.Contains(strings.ToLower(errOut), "token") {
		t.Fatalf("revoked token still works: %d %s", code, errOut)
	}

	// Disabled, tom's tokens stop working too.
	if out, errOut, code = run(t, env, "users", "edit", id, "--disabled=true"); code != 0 || !strings.Contains(out, "true") {
		t.Fatalf("users edit --disabled: %d\n%s\n%s", code, out, errOut)
	}
	if _, _, code = run(t, tomEnv, "tokens", "list"); code != 1 {
		t.Fatalf("a disabled user's token still works: %d", code)
	}

	// users delete: tom is gone from the list; deleting him again is 404.
	if out, errOut, code = run(t, env, "users", "delete", id); code != 0 || !strings.Contains(out, "user "+id+" deleted") {
		t.Fatalf("users delete: %d\n%s\n%s", code, out, errOut)
	}
	if out, _, code = run(t, env, "users", "list"); code != 0 || strings.Contains(out, "tom") {
		t.Fatalf("users list after delete: %d\n%s", code, out)
	}
	if _, errOut, code = run(t, env, "users", "delete", id); code != 1 || !strings.Contains(errOut, "Not Found") {
		t.Fatalf("users delete again: %d\n%s", code, errOut)
	}
	// --username is the flag; --name, its deprecated alias, still works.
	if out, errOut, code = run(t, env, "users", "create", "--username", "ann", "--role", "viewer", "--password", "@"+pwFile); code != 0 || !strings.Contains(out, "ann") {
		t.Fatalf("users create --username: %d\n%s\n%s", code, out, errOut)
	}
}

// TestAdminVerbsHelp: the new verbs answer -h without a token.
func TestAdminVerbsHelp(t *testing.T) {
	noToken := map[string]string{"BERTH_ADMIN_TOKEN": "", "BERTH_URL": "http://127.0.0.1:1"}
	for _, args := range [][]string{{"users", "-h"}, {"tokens", "--help"}, {"users", "create", "-h"}, {"tokens", "revoke", "-h"},
		{"pools", "create", "-h"}, {"pools", "edit", "-h"}} {
		_, errOut, code := run(t, noToken, args...)
		if code != 0 || !strings.Contains(errOut, "sage") || strings.Contains(errOut, "no admin token") {
			t.Errorf("%v: code %d\n%s", args, code, errOut)
		}
	}
	withToken := map[string]string{"BERTH_ADMIN_TOKEN": "x", "BERTH_URL": "http://127.0.0.1:1"}
	for _, args := range [][]string{{"users"}, {"users", "drop"}, {"tokens", "revoke"}, {"tokens", "create"}, {"users", "create", "--name", "x"},
		{"users", "delete"}, {"users", "create", "--username", "x", "--name", "y", "--role", "viewer", "--password", "p"}} {
		if _, errOut, code := run(t, withToken, args...); code != 2 || !strings.Contains(errOut, "usage: berth ") {
			t.Errorf("%v: code %d\n%s", args, code, errOut)
		}
	}
}
