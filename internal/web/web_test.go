package web_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/web"
)

// routePath fills a route pattern's wildcards.
func routePath(p string) string {
	p = strings.ReplaceAll(p, "{$}", "")
	p = strings.ReplaceAll(p, "{job}", "1")
	return strings.ReplaceAll(p, "{id}", "1")
}

// TestRoutesNeedSignInAndRole walks the console's route table: every admin
// route sends a signed-out visitor to the sign-in page, and refuses a role
// below the route's; public routes answer everyone.
func TestRoutesNeedSignInAndRole(t *testing.T) {
	c := startConsole(t)
	c.h.Pool("srv-1", "server", 5, 0)
	c.h.Pool("team-1", "team", 5, 0)
	anon := c.client()
	clients := map[auth.Role]*http.Client{
		auth.RoleViewer:   c.signIn("view", userPassword),
		auth.RoleOperator: c.signIn("oper", userPassword),
		auth.RoleAdmin:    c.signIn("admin", adminPassword),
	}
	admin := 0
	for _, rt := range c.Web.Routes() {
		path := routePath(rt.Path)
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			form := url.Values{}
			if rt.Method == http.MethodGet {
				form = nil
			}
			r := c.do(anon, rt.Method, path, form, nil)
			if rt.Role == "" {
				if r.Status == http.StatusSeeOther && strings.HasPrefix(r.Location, "/login") && path != "/logout" {
					t.Fatalf("public route sent a visitor to sign in")
				}
				return
			}
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/login") {
				t.Fatalf("signed out: %d %q, want 303 to /login", r.Status, r.Location)
			}
			if rt.Method == http.MethodGet && r.Location != "/login?next="+url.QueryEscape(path) {
				t.Errorf("signed out: redirect %q does not come back to %s", r.Location, path)
			}
			for _, role := range auth.Roles() {
				r := c.do(clients[role], rt.Method, path, form, nil)
				switch {
				case !role.Allows(rt.Role) && r.Status != http.StatusForbidden:
					t.Errorf("%s: status %d, want 403", role, r.Status)
				case !role.Allows(rt.Role) && !strings.Contains(r.Body, "cannot do this"):
					t.Errorf("%s: the refusal does not say why: %s", role, r.Body)
				case role.Allows(rt.Role) && (r.Status == http.StatusForbidden || r.Status == http.StatusSeeOther && strings.HasPrefix(r.Location, "/login")):
					t.Errorf("%s: refused (%d %s) though the role allows it", role, r.Status, r.Location)
				}
			}
			admin++
		})
	}
	if admin < 20 {
		t.Fatalf("only %d admin routes walked", admin)
	}
	// A viewer sees no buttons for what it may not do.
	for _, path := range []string{"/admin/teams", "/admin/servers", "/admin/accounts", "/admin/seats", "/admin/codes", "/admin/queue", "/admin/integrity"} {
		r := c.do(clients[auth.RoleViewer], "GET", path, nil, nil)
		for _, action := range []string{`method="post"`, "bulk-open", "upload-open", "formaction"} {
			if strings.Contains(strings.Replace(r.Body, `<form method="post" action="/logout"`, "", 1), action) {
				t.Errorf("viewer sees %s on %s", action, path)
			}
		}
	}
	r := c.do(clients[auth.RoleOperator], "GET", "/admin/teams", nil, nil)
	if !strings.Contains(r.Body, "bulk-open") || strings.Contains(r.Body, `href="/admin/users"`) {
		t.Errorf("operator: the bulk button is missing or the users link is shown")
	}
}

// TestCrossSitePostRefused: a POST from another site is refused before it
// does anything, signed in or not.
func TestCrossSitePostRefused(t *testing.T) {
	c := startConsole(t)
	id := c.h.Pool("team-1", "team", 5, 0)
	op := c.signIn("oper", userPassword)
	form := url.Values{"ids": {"1"}, "status": {"banned"}, "message": {"csrf"}}
	for name, hdr := range map[string]map[string]string{
		"sec-fetch-site": {"Sec-Fetch-Site": "cross-site"},
		"origin":         {"Origin": "https://evil.example"},
	} {
		r := c.do(op, "POST", "/admin/teams/status", form, hdr)
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "another site") {
			t.Fatalf("%s: status %d, want 403 with a plain reason: %s", name, r.Status, r.Body)
		}
		r = c.do(c.client(), "POST", "/login", url.Values{"username": {"admin"}, "password": {adminPassword}}, hdr)
		if r.Status != http.StatusForbidden {
			t.Fatalf("%s: cross-site sign-in: status %d, want 403", name, r.Status)
		}
		r = c.do(c.client(), "POST", "/redeem", url.Values{"email": {"a@example.com"}, "code": {"XXXX-XXXX"}}, hdr)
		if r.Status != http.StatusForbidden {
			t.Fatalf("%s: cross-site redeem: status %d, want 403", name, r.Status)
		}
	}
	p, err := c.h.App.Store.PoolGet(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != model.StatusActive {
		t.Fatalf("a refused cross-site request changed the team: %s", p.Status)
	}
	// The same request from the console's own page goes through.
	r := c.do(op, "POST", "/admin/teams/status", form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": c.URL})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("same-origin: %d: %s", r.Status, r.Body)
	}
	r = c.do(op, "GET", r.Location, nil, nil)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `id="bulk-results"`) {
		t.Fatalf("same-origin: %d: %s", r.Status, r.Body)
	}
}

// TestSignInCookie checks the session cookie's attributes and sign-out.
func TestSignInCookie(t *testing.T) {
	c := startConsole(t)
	cl := c.client()
	r := c.do(cl, "POST", "/login", url.Values{"username": {"admin"}, "password": {"wrong-password-123"}}, nil)
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Wrong user name or password") {
		t.Fatalf("wrong password: %d %s", r.Status, r.Body)
	}
	r = c.do(cl, "POST", "/login", url.Values{"username": {"admin"}, "password": {adminPassword}, "next": {"//evil.example/x"}}, nil)
	if r.Status != http.StatusSeeOther || r.Location != "/admin/" {
		t.Fatalf("sign-in: %d, redirect %q (an outside next must fall back to /admin/)", r.Status, r.Location)
	}
	var cookie *http.Cookie
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == auth.SessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP", cookie)
	}
	if r := c.do(cl, "GET", "/admin/", nil, nil); r.Status != 200 {
		t.Fatalf("dashboard: %d", r.Status)
	}
	if r := c.do(cl, "POST", "/logout", url.Values{}, nil); r.Status != http.StatusSeeOther || r.Location != "/login" {
		t.Fatalf("sign-out: %d %s", r.Status, r.Location)
	}
	// The old token is dead even if a client kept it.
	r = c.do(c.client(), "GET", "/admin/", nil, map[string]string{"Cookie": auth.SessionCookie + "=" + cookie.Value})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("after sign-out the old session still works: %d", r.Status)
	}
}

var htmlLang = regexp.MustCompile(`<html lang="([^"]+)">`)

// TestLanguage: Accept-Language picks the language, the switch's cookie
// overrides it, and the switch only redirects within the site.
func TestLanguage(t *testing.T) {
	c := startConsole(t)
	cl := c.client()
	r := c.do(cl, "GET", "/redeem", nil, map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
	if m := htmlLang.FindStringSubmatch(r.Body); m == nil || m[1] != "zh-CN" || !strings.Contains(r.Body, "兑换座位") {
		t.Fatalf("Accept-Language zh-CN: lang %v", m)
	}
	r = c.do(cl, "GET", "/redeem", nil, map[string]string{"Accept-Language": "fr-FR, en;q=0.5"})
	if m := htmlLang.FindStringSubmatch(r.Body); m == nil || m[1] != "en" {
		t.Fatalf("Accept-Language fr, en: lang %v", m)
	}
	r = c.do(cl, "GET", "/lang?to=zh-CN&next=/status", nil, nil)
	if r.Status != http.StatusSeeOther || r.Location != "/status" {
		t.Fatalf("switch: %d %s", r.Status, r.Location)
	}
	r = c.do(cl, "GET", "/status", nil, map[string]string{"Accept-Language": "en"})
	if m := htmlLang.FindStringSubmatch(r.Body); m == nil || m[1] != "zh-CN" {
		t.Fatalf("the switch's cookie must win over Accept-Language: lang %v", m)
	}
	if !strings.Contains(r.Body, `href="/lang?to=en&amp;next=%2fstatus"`) {
		t.Fatalf("no switch back to English on the page")
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example"} {
		r = c.do(cl, "GET", "/lang?to=en&next="+url.QueryEscape(next), nil, nil)
		if r.Location != "/" {
			t.Errorf("next %q: redirect to %q, want /", next, r.Location)
		}
	}
}

// TestPublicErrorsInPlainWords: a refused redeem says why in the page's
// language, with the right status, and shows nothing internal.
func TestPublicErrorsInPlainWords(t *testing.T) {
	c := startConsole(t)
	cl := c.client()
	for _, tc := range []struct {
		name, path string
		form       url.Values
		header     map[string]string
		status     int
		says       string
	}{
		{"unknown code", "/redeem", url.Values{"email": {"a@example.com"}, "code": {"ABCD-EFGH-JKMN-PQRS-TVWX"}}, nil,
			http.StatusForbidden, "This code cannot be used with this email"},
		{"bad email in Chinese", "/redeem", url.Values{"email": {"not-an-address"}, "code": {"ABCD"}}, map[string]string{"Accept-Language": "zh-CN"},
			http.StatusUnprocessableEntity, "请检查输入内容"},
		{"missing code", "/status", url.Values{"email": {"a@example.com"}, "code": {""}}, nil,
			http.StatusUnprocessableEntity, "Enter your email and your code"},
	} {
		r := c.do(cl, "POST", tc.path, tc.form, tc.header)
		if r.Status != tc.status || !strings.Contains(r.Body, tc.says) {
			t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
		}
		for _, bad := range []string{"goroutine", ".go:", "sql", "panic"} {
			if strings.Contains(strings.ToLower(r.Body), bad) {
				t.Fatalf("%s: error page shows %q", tc.name, bad)
			}
		}
	}
	if r := c.do(cl, "GET", "/no/such/page", nil, nil); r.Status != http.StatusNotFound && r.Status != http.StatusOK {
		t.Fatalf("unknown page: %d", r.Status)
	}
}

// TestOperatorActions drives every operator form of the console over HTTP
// and checks what alloc did and that each action is in the audit log.
func TestOperatorActions(t *testing.T) {
	c := startConsole(t)
	ctx := t.Context()
	st := c.h.App.Store
	srv := c.h.Pool("srv-1", "server", 2, 0)
	c.h.Pool("team-1", "team", 10, 1)
	team2 := c.h.Pool("team-2", "team", 10, 2)
	items := c.h.Import("script-A", apptest.Files("acct", 0, 3))
	if items[2].Status != "queued" {
		t.Fatalf("third account: %+v", items[2])
	}
	op := c.signIn("oper", userPassword)
	expect := func(r reply, want string) {
		t.Helper()
		if r.Status != http.StatusOK || !strings.Contains(r.Body, want) {
			t.Fatalf("status %d, want 200 with %q:\n%s", r.Status, want, r.Body)
		}
	}

	// Codes: generate two, disable and enable one.
	r := c.post(op, "/admin/codes/generate", url.Values{"count": {"2"}, "max_uses": {"1"}, "valid_for": {"720h"}, "rebind_limit": {"3"}, "batch": {"b1"}})
	expect(r, "2 codes generated in batch b1")
	m := regexp.MustCompile(`(?s)<textarea id="gen-codes"[^>]*>(.*?)</textarea>`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatal("the generated codes are not shown")
	}
	gen := strings.Fields(m[1])
	if len(gen) != 2 {
		t.Fatalf("codes %q", gen)
	}
	expect(c.post(op, "/admin/codes/status", url.Values{"code": {gen[1]}, "status": {"disabled"}}), "is now disabled")
	if _, err := c.h.App.Alloc.Redeem(ctx, "x@example.com", gen[1], "public"); !errors.Is(err, alloc.ErrCodeDisabled) {
		t.Fatalf("redeem a disabled code: %v", err)
	}
	expect(c.post(op, "/admin/codes/status", url.Values{"code": {gen[1]}, "status": {"enabled"}}), "is now unused")

	// Queue: cancel the waiting account.
	expect(c.post(op, "/admin/queue/cancel", url.Values{"kind": {"server"}, "member": {items[2].Account}}), "is out of the queue")
	if n, _ := st.QueueLen(ctx, model.KindServer); n != 0 {
		t.Fatalf("queue length %d after cancel", n)
	}

	// Seats: move a user to team-2, then release the new seat.
	if _, err := c.h.App.Alloc.Redeem(ctx, "u@example.com", gen[0], "public"); err != nil {
		t.Fatal(err)
	}
	member, err := st.MemberGetByExternal(ctx, model.KindTeam, "u@example.com")
	if err != nil {
		t.Fatal(err)
	}
	live := func() model.Seat {
		seats, err := st.SeatList(ctx, store.SeatFilter{MemberID: member.ID, States: []model.SeatState{model.SeatActive}})
		if err != nil || len(seats) != 1 {
			return model.Seat{}
		}
		return seats[0]
	}
	apptest.Eventually(t, 10*time.Second, "the seat to be active", func() bool { return live().Pool == "team-1" })
	seat := live()
	expect(c.post(op, fmt.Sprintf("/admin/seats/%d/move", seat.ID), url.Values{"to": {"team-2"}, "email": {"u@example.com"}}),
		fmt.Sprintf("Seat %d is moving to team-2", seat.ID))
	apptest.Eventually(t, 10*time.Second, "the move to finish", func() bool { return live().Pool == "team-2" })
	moved := live()
	r = c.post(op, fmt.Sprintf("/admin/seats/%d/release", moved.ID), url.Values{"email": {"u@example.com"}})
	expect(r, fmt.Sprintf("Seat %d is being released", moved.ID))
	if !strings.Contains(r.Body, `value="u@example.com"`) {
		t.Fatal("after an action the seats page forgot the search")
	}

	// Servers: drain srv-1.
	expect(c.post(op, fmt.Sprintf("/admin/servers/%d/drain", srv), url.Values{}), "Draining srv-1")
	if p, _ := st.PoolGet(ctx, srv); p.Status != model.StatusDraining {
		t.Fatalf("srv-1 is %s after drain", p.Status)
	}

	// Integrity: an orphan (a second live seat outside any move, an hour
	// old) is shown and repaired.
	if _, err := c.h.App.Alloc.Redeem(ctx, "u@example.com", gen[1], "public"); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, "the seat again", func() bool { return live().ID != 0 })
	if _, err := st.DB.Exec(`UPDATE pools SET used = used + 1 WHERE id = $1`, team2); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SeatCreate(ctx, member.ID, team2, "active", 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.Exec(`UPDATE seats SET created_at = created_at - 3600000000 WHERE member_id = $1`, member.ID); err != nil {
		t.Fatal(err)
	}
	expect(c.do(op, "GET", "/admin/integrity", nil, nil), "Orphans (1)")
	expect(c.post(op, "/admin/integrity/repair", url.Values{"limit": {"10"}}), "1 seats being released")

	// Every action is in the audit log, by the operator.
	entries, err := c.h.App.Auth.AuditList(ctx, store.AuditFilter{Actor: "oper", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range entries {
		seen[e.Action]++
		if strings.Contains(string(e.Request)+string(e.After)+string(e.Before), gen[0]) {
			t.Errorf("audit row %s holds a whole redeem code", e.Action)
		}
	}
	for action, n := range map[string]int{
		"web: POST /admin/codes/generate": 1, "web: POST /admin/codes/status": 2, "web: POST /admin/queue/cancel": 1,
		"web: POST /admin/seats/{id}/move": 1, "web: POST /admin/seats/{id}/release": 1, "web: POST /admin/servers/{id}/drain": 1,
		"web: POST /admin/integrity/repair": 1,
	} {
		if seen[action] != n {
			t.Errorf("audit: %d rows %q, want %d (all: %v)", seen[action], action, n, seen)
		}
	}
}

// TestNoAuthenticatorAndPublicLimit: a console built without an
// Authenticator keeps the admin pages closed, and the public forms are
// limited per address with a plain answer.
func TestNoAuthenticatorAndPublicLimit(t *testing.T) {
	c := startConsole(t)
	w := web.New(c.h.App.Alloc, nil, nil)
	w.SetPublicRate(0.001, 2)
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	cl := c.client()
	get := func(method, path string, form url.Values) reply {
		t.Helper()
		c2 := *c
		c2.URL = srv.URL
		return c2.do(cl, method, path, form, nil)
	}
	if r := get("GET", "/admin/", nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/login") {
		t.Fatalf("admin without an authenticator: %d %s", r.Status, r.Location)
	}
	if r := get("POST", "/login", url.Values{"username": {"admin"}, "password": {adminPassword}}); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("sign-in without an authenticator: %d", r.Status)
	}
	form := url.Values{"email": {"a@example.com"}, "code": {"ABCD-EFGH-JKMN-PQRS-TVWX"}}
	get("POST", "/status", form)
	get("POST", "/status", form)
	r := get("POST", "/status", form)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Body, "Too many requests from your address") {
		t.Fatalf("third request: %d %s", r.Status, r.Body)
	}
}
