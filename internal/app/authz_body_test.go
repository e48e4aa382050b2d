package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/auth"
)

// The role a request needs is decided from what its handler decoded, and a
// JSON route refuses a body of any other type (issue 11, finding 1): an
// operator used to change a pool's provider settings (admin only) by
// sending the JSON body as a form, which the role check did not read and
// the decoder did.

// poolProvider reads a pool's capacity and provider settings as an admin.
func poolProvider(t *testing.T, h *apptest.Harness, id int64) (capacity int, provider map[string]any) {
	t.Helper()
	var p struct {
		Capacity int
		Provider map[string]any
	}
	h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", id), nil).MustStatus(t, 200).JSON(t, &p)
	return p.Capacity, p.Provider
}

func TestPoolProviderNeedsAdminWhateverTheContentType(t *testing.T) {
	t.Parallel()
	h := startAuth(t)
	createUser(t, h, "otto", auth.RoleOperator)
	createUser(t, h, "ada", auth.RoleAdmin)
	otto := signIn(t, h, "otto", testPassword)
	ada := signIn(t, h, "ada", testPassword)
	id := h.Pool("t1", "team", 5, 0)
	path := fmt.Sprintf("/api/v1/pools/%d", id)
	evil := []byte(`{"capacity":9,"provider":{"type":"sim","down":true}}`)

	unchanged := func(when string) {
		t.Helper()
		c, p := poolProvider(t, h, id)
		if c != 5 || p["type"] != "sim" || p["down"] == true {
			t.Fatalf("%s: the pool changed: capacity %d provider %v", when, c, p)
		}
	}

	// The JSON body under other content types: 415, nothing changed.
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "text/plain; charset=utf-8",
		"multipart/form-data; boundary=x", "application/octet-stream", "not a media type"} {
		r := send(t, h, req{method: "PATCH", path: path, body: evil, cookie: otto, header: map[string]string{"Content-Type": ct}})
		if r.Status != http.StatusUnsupportedMediaType || r.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(string(r.Body), "send Content-Type: application/json") {
			t.Fatalf("operator PATCH as %q: %d %s, want 415 problem+json", ct, r.Status, r.Body)
		}
		unchanged("operator PATCH as " + ct)
	}
	// An admin is refused the same way: the type is wrong whoever sends it.
	send(t, h, req{method: "PATCH", path: path, body: evil, cookie: ada,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}).MustStatus(t, http.StatusUnsupportedMediaType)
	unchanged("admin PATCH as a form")

	// JSON touching the provider, typed or untyped: the handler asks for admin.
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/merge-patch+json", ""} {
		var r apptest.Response
		if ct == "" {
			r = sendUntyped(t, h, "PATCH", path, evil, otto)
		} else {
			r = send(t, h, req{method: "PATCH", path: path, body: evil, cookie: otto, header: map[string]string{"Content-Type": ct}})
		}
		if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "needs role admin") {
			t.Fatalf("operator PATCH with a provider (%q): %d %s, want 403 naming admin", ct, r.Status, r.Body)
		}
		unchanged(fmt.Sprintf("operator PATCH with a provider (%q)", ct))
	}
	// The refusal is audited as a 403 of the route.
	rows := auditRows(t, h, "?actor=otto&action=PATCH%20/api/v1/pools/%7Bid%7D")
	refused := 0
	for _, e := range rows {
		if e.Status == http.StatusForbidden {
			refused++
		}
	}
	if refused != 4 {
		t.Fatalf("%d refused provider changes audited, want 4: %+v", refused, rows)
	}

	// The operator may still change what is theirs; provider null is no change.
	send(t, h, req{method: "PATCH", path: path, body: map[string]any{"capacity": 6, "provider": nil}, cookie: otto}).MustStatus(t, 200)
	if c, p := poolProvider(t, h, id); c != 6 || p["down"] == true {
		t.Fatalf("operator capacity change: capacity %d provider %v", c, p)
	}
	// An admin changes the provider.
	send(t, h, req{method: "PATCH", path: path, body: evil, cookie: ada}).MustStatus(t, 200)
	if c, p := poolProvider(t, h, id); c != 9 || p["down"] != true {
		t.Fatalf("admin provider change: capacity %d provider %v", c, p)
	}
}

// sendUntyped sends a body without a Content-Type header.
func sendUntyped(t *testing.T, h *apptest.Harness, method, path string, body []byte, cookie *http.Cookie) apptest.Response {
	t.Helper()
	r, err := http.NewRequest(method, h.App.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.AddCookie(cookie)
	return apptest.Send(t, r)
}

// TestJSONRoutesRefuseOtherBodies walks the route table: every
// state-changing route but the multipart import answers a form body with
// 415 (before doing anything), the import answers a JSON body with 415, and
// the import still takes multipart.
func TestJSONRoutesRefuseOtherBodies(t *testing.T) {
	t.Parallel()
	h := startAuth(t)
	h.Pool("s1", "server", 5, 0)
	checked := 0
	for _, rt := range h.App.API.Routes() {
		if !rt.StateChanging() {
			continue
		}
		path := strings.NewReplacer("{id}", "1", "{kind}", "server", "{member}", "1", "{code}", "ABCD-EFGH-JKMN-PQRS").Replace(rt.Path)
		body, ct := []byte(`{}`), "application/x-www-form-urlencoded"
		if rt.Path == "/api/v1/accounts/batch" {
			ct = "application/json"
		}
		r := send(t, h, req{method: rt.Method, path: path, body: body, token: apptest.Token, header: map[string]string{"Content-Type": ct}})
		if r.Status != http.StatusUnsupportedMediaType || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s with %s: %d %s, want 415", rt.Method, rt.Path, ct, r.Status, r.Body)
		}
		checked++
	}
	if checked < 15 {
		t.Fatalf("only %d state-changing routes walked", checked)
	}
	// Nothing happened: the admin token is still good, the pool still there.
	var pools struct {
		Items []struct{ Name, Status string }
	}
	h.Do("GET", "/api/v1/pools", nil).MustStatus(t, 200).JSON(t, &pools)
	if len(pools.Items) != 1 || pools.Items[0].Status != "active" {
		t.Fatalf("pools after the refused requests: %+v", pools.Items)
	}
	// The import still takes multipart.
	items := h.Import("default", apptest.Files("a", 0, 2))
	if len(items) != 2 || items[0].Status != "placed" {
		t.Fatalf("multipart import: %+v", items)
	}
}
