package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/auth"
)

// TestNoStoreOnAnswersWithCodesOrSessions: every answer of the API and the
// console is sent with Cache-Control: no-store (codes, sign-ins, sessions,
// tokens, public redeem and status pages and answers, errors), so no
// browser cache or shared proxy keeps one; only the static assets and the
// API docs may be cached (issue 11, finding 7).
func TestNoStoreOnAnswersWithCodesOrSessions(t *testing.T) {
	t.Parallel()
	h := startAuth(t)
	createUser(t, h, "vera", auth.RoleViewer)
	h.Pool("t1", "team", 5, 0)
	var gen struct{ Codes []string }
	batch := h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 2})
	batch.MustStatus(t, 201).JSON(t, &gen)
	cookie := signIn(t, h, "admin", h.App.NewAdminPassword)

	noStore := func(what string, r apptest.Response) {
		t.Helper()
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s (%d): Cache-Control %q, want no-store", what, r.Status, cc)
		}
	}
	noStore("POST /api/v1/codes/batch", batch)
	login := send(t, h, req{method: "POST", path: "/api/v1/session", body: map[string]string{"username": "vera", "password": testPassword}})
	noStore("POST /api/v1/session", login.MustStatus(t, 200))
	noStore("POST /api/v1/session, wrong password",
		send(t, h, req{method: "POST", path: "/api/v1/session", body: map[string]string{"username": "vera", "password": "nope"}}))
	for _, q := range []req{
		{method: "GET", path: "/api/v1/codes", cookie: cookie},
		{method: "GET", path: "/api/v1/codes?format=csv", cookie: cookie},
		{method: "GET", path: "/api/v1/codes/" + gen.Codes[0], cookie: cookie},
		{method: "GET", path: "/api/v1/session", cookie: cookie},
		{method: "POST", path: "/api/v1/tokens", cookie: cookie, body: map[string]string{"name": "ci"}},
		{method: "GET", path: "/api/v1/tokens", cookie: cookie},
		{method: "GET", path: "/api/v1/pools"}, // 401
		{method: "POST", path: "/api/v1/public/redeem", body: map[string]string{"email": "u@example.com", "code": gen.Codes[0]}},
		{method: "GET", path: "/api/v1/public/status?email=u%40example.com&code=" + gen.Codes[0]},
		{method: "POST", path: "/api/v1/public/rebind", body: map[string]string{"email": "u@example.com", "code": gen.Codes[1]}},
		{method: "GET", path: "/api/v1/nothing-here"},

		{method: "GET", path: "/login"},
		{method: "GET", path: "/admin/codes", cookie: cookie},
		{method: "GET", path: "/admin/codes"}, // redirect to sign-in
		{method: "GET", path: "/admin/", cookie: cookie},
		{method: "GET", path: "/redeem"},
		{method: "GET", path: "/status"},
		{method: "GET", path: "/no-such-page-of-the-console/x"},
	} {
		noStore(q.method+" "+q.path, send(t, h, q))
	}
	// Console forms: sign-in (sets the session cookie), redeem, status.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/login", url.Values{"username": {"vera"}, "password": {testPassword}}},
		{"/redeem", url.Values{"email": {"w@example.com"}, "code": {gen.Codes[1]}}},
		{"/status", url.Values{"email": {"u@example.com"}, "code": {gen.Codes[0]}}},
	} {
		resp, err := client.PostForm(h.App.URL+f.path, f.form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		noStore("POST "+f.path, apptest.Response{Status: resp.StatusCode, Header: resp.Header})
		if f.path == "/login" && !strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), " "), auth.SessionCookie) {
			t.Errorf("console sign-in set no session cookie: %d %v", resp.StatusCode, resp.Header)
		}
	}

	// Static assets and the API docs may be cached.
	for _, p := range []string{"/assets/style.css", "/docs", "/openapi.json"} {
		r := send(t, h, req{method: "GET", path: p}).MustStatus(t, 200)
		if cc := r.Header.Get("Cache-Control"); strings.Contains(cc, "no-store") {
			t.Errorf("GET %s: Cache-Control %q: static, may be cached", p, cc)
		}
	}
}
