package app_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Sign-in, roles, cross-site protection and the audit log, end to end over
// HTTP.

const testPassword = "correct horse battery staple"

// startAuth starts berth with a sign-in limit high enough for tests that
// sign in often from 127.0.0.1, and cheap password hashing (argon2id with
// 64 KiB: these tests hash dozens of passwords under the race detector).
// TestPasswordsStoredAsArgon2id checks the real costs.
func startAuth(t *testing.T, d ...store.Dialect) *apptest.Harness {
	t.Helper()
	dialect := store.SQLite
	if len(d) > 0 {
		dialect = d[0]
	}
	return apptest.Start(t, dialect, func(c *app.Config) {
		c.Auth.LoginPerMinute, c.Auth.LoginBurst = 1e6, 1e6
		c.Auth.Params = apptest.FastHash
	})
}

// req is one request: a bearer token or a session cookie, extra headers.
type req struct {
	method, path string
	body         any
	token        string
	cookie       *http.Cookie
	header       map[string]string
}

func send(t *testing.T, h *apptest.Harness, q req) apptest.Response {
	t.Helper()
	var rd io.Reader
	switch b := q.body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(q.method, h.App.URL+q.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if q.body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	if q.cookie != nil {
		r.AddCookie(q.cookie)
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	return apptest.Send(t, r)
}

// signIn signs in through POST /api/v1/session and returns the cookie.
func signIn(t *testing.T, h *apptest.Harness, name, password string) *http.Cookie {
	t.Helper()
	r := send(t, h, req{method: "POST", path: "/api/v1/session", body: map[string]string{"username": name, "password": password}})
	r.MustStatus(t, 200)
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == auth.SessionCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
				t.Errorf("session cookie attributes: %+v (want HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP)", c)
			}
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("sign-in set no %s cookie: %v", auth.SessionCookie, r.Header)
	return nil
}

// startWithRoles starts berth as startAuth does, with a user of each role:
// vera (viewer), otto (operator) and ada (admin), all of testPassword.
func startWithRoles(t *testing.T) *apptest.Harness {
	t.Helper()
	h := startAuth(t)
	createUser(t, h, "vera", auth.RoleViewer)
	createUser(t, h, "otto", auth.RoleOperator)
	createUser(t, h, "ada", auth.RoleAdmin)
	return h
}

// createUser adds a user through the API with the admin token.
func createUser(t *testing.T, h *apptest.Harness, name string, role auth.Role) int64 {
	t.Helper()
	var u struct{ ID int64 }
	h.Do("POST", "/api/v1/users", map[string]any{"name": name, "password": testPassword, "role": role}).MustStatus(t, 201).JSON(t, &u)
	return u.ID
}

// TestRolesWalkRouteTable walks every route of the route table as a
// signed-out visitor, a viewer, an operator, an admin (all by session) and
// the admin token: signed out gets 401 on every non-public route; a role
// below the route's gets 403; a role at or above it gets neither.
func TestRolesWalkRouteTable(t *testing.T) {
	t.Parallel()
	h := startWithRoles(t)
	callers := []struct {
		name     string
		role     auth.Role
		password string
		cookie   *http.Cookie
		token    string
	}{
		{name: "vera", role: auth.RoleViewer, password: testPassword},
		{name: "otto", role: auth.RoleOperator, password: testPassword},
		{name: "ada", role: auth.RoleAdmin, password: testPassword},
		{name: "admin", role: auth.RoleAdmin, password: h.App.NewAdminPassword},
		{name: "admin-token", role: auth.RoleAdmin, token: apptest.Token},
	}
	if h.App.NewAdminPassword == "" {
		t.Fatal("the first start made no admin password")
	}
	for i := range callers {
		if callers[i].token == "" {
			callers[i].cookie = signIn(t, h, callers[i].name, callers[i].password)
		}
	}

	params := regexp.MustCompile(`\{[^}]+\}`)
	counts := map[auth.Role]int{}
	for _, rt := range h.App.API.Routes() {
		path := params.ReplaceAllString(rt.Path, "1")
		name := rt.Method + " " + rt.Path
		if name == "DELETE /api/v1/users/{id}" {
			// A user no caller is: the walk checks the role, not the delete
			// (user 1 signs in below).
			path = "/api/v1/users/999999"
		}
		if !rt.Public && !rt.Role.Valid() {
			t.Errorf("%s is neither public nor given a role", name)
			continue
		}
		counts[rt.Role]++

		out := send(t, h, req{method: rt.Method, path: path})
		if rt.Public {
			if out.Status == 401 || out.Status == 403 {
				t.Errorf("public %s signed out: %d %s", name, out.Status, out.Body)
			}
		} else {
			if out.Status != 401 {
				t.Errorf("%s signed out: %d, want 401", name, out.Status)
			}
			if out.Header.Get("Content-Type") != "application/problem+json" || out.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without problem+json or WWW-Authenticate", name)
			}
		}

		for i := range callers {
			c := &callers[i]
			r := send(t, h, req{method: rt.Method, path: path, cookie: c.cookie, token: c.token})
			switch {
			case rt.Public:
				if r.Status == 401 || r.Status == 403 {
					t.Errorf("public %s as %s: %d", name, c.name, r.Status)
				}
			case !c.role.Allows(rt.Role):
				if r.Status != 403 {
					t.Errorf("%s (needs %s) as %s (%s): %d %s, want 403", name, rt.Role, c.name, c.role, r.Status, r.Body)
				} else if r.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(r.Body), "needs role "+string(rt.Role)) {
					t.Errorf("%s as %s: 403 is not problem+json naming the role: %s", name, c.name, r.Body)
				}
			default:
				if r.Status == 401 || r.Status == 403 {
					t.Errorf("%s (needs %s) as %s (%s): %d %s", name, rt.Role, c.name, c.role, r.Status, r.Body)
				}
			}
			if rt.Method == "DELETE" && rt.Path == "/api/v1/session" && c.cookie != nil {
				// Signed out: the old cookie no longer works; sign in again.
				if r := send(t, h, req{method: "GET", path: "/api/v1/session", cookie: c.cookie}); r.Status != 401 {
					t.Errorf("the session of %s still works after DELETE /api/v1/session: %d", c.name, r.Status)
				}
				c.cookie = signIn(t, h, c.name, c.password)
			}
		}
	}
	if counts[auth.RoleViewer] < 10 || counts[auth.RoleOperator] < 8 || counts[auth.RoleAdmin] < 4 {
		t.Fatalf("routes walked per role: %v", counts)
	}

	// Provider settings hold secrets: an operator may change a pool's
	// capacity but not its provider.
	id := h.Pool("p1", "server", 2, 0)
	otto := callers[1].cookie
	send(t, h, req{method: "PATCH", path: fmt.Sprintf("/api/v1/pools/%d", id), cookie: otto,
		body: map[string]any{"capacity": 3}}).MustStatus(t, 200)
	r := send(t, h, req{method: "PATCH", path: fmt.Sprintf("/api/v1/pools/%d", id), cookie: otto,
		body: map[string]any{"provider": map[string]any{"type": "sim"}}})
	if r.Status != 403 || !strings.Contains(string(r.Body), "needs role admin") {
		t.Fatalf("operator changing a provider: %d %s", r.Status, r.Body)
	}
	send(t, h, req{method: "PATCH", path: fmt.Sprintf("/api/v1/pools/%d", id), cookie: callers[2].cookie,
		body: map[string]any{"provider": map[string]any{"type": "sim"}}}).MustStatus(t, 200)

	// GET /api/v1/session says who is calling.
	var who struct{ User auth.User }
	send(t, h, req{method: "GET", path: "/api/v1/session", cookie: otto}).MustStatus(t, 200).JSON(t, &who)
	if who.User.Name != "otto" || who.User.Role != auth.RoleOperator || who.User.Via != "session" {
		t.Fatalf("whoami: %+v", who.User)
	}
	// History names the user who acted.
	var hist struct{ Items []struct{ Actor string } }
	h.Do("GET", "/api/v1/history?pool=p1", nil).MustStatus(t, 200).JSON(t, &hist)
	if len(hist.Items) == 0 || hist.Items[0].Actor != "ada" {
		t.Fatalf("history actor: %+v", hist.Items)
	}
}

// TestCrossSiteRequestRefused: a state-changing request a page of another
// site makes with the victim's session cookie is refused with 403 and
// changes nothing; the same request from berth's own origin, or from a
// script with a bearer token and no browser headers, goes through.
func TestCrossSiteRequestRefused(t *testing.T) {
	t.Parallel()
	h := startAuth(t)
	id := h.Pool("p1", "server", 2, 0)
	cookie := signIn(t, h, "admin", h.App.NewAdminPassword)
	body := map[string]any{"ids": []int64{id}, "status": "banned", "message": "csrf"}

	r := send(t, h, req{method: "PATCH", path: "/api/v1/pools/status", body: body, cookie: cookie,
		header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}})
	if r.Status != 403 || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("cross-site PATCH: %d %s", r.Status, r.Body)
	}
	// Origin alone (an older browser) is enough.
	r = send(t, h, req{method: "POST", path: "/api/v1/codes/batch", body: map[string]any{"count": 1}, cookie: cookie,
		header: map[string]string{"Origin": "https://evil.example"}})
	if r.Status != 403 {
		t.Fatalf("cross-origin POST: %d %s", r.Status, r.Body)
	}
	// Signing in from another site is refused too (login CSRF).
	r = send(t, h, req{method: "POST", path: "/api/v1/session", body: map[string]string{"username": "admin", "password": h.App.NewAdminPassword},
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	if r.Status != 403 {
		t.Fatalf("cross-site sign-in: %d %s", r.Status, r.Body)
	}
	var p struct{ Status string }
	h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", id), nil).MustStatus(t, 200).JSON(t, &p)
	if p.Status != "active" {
		t.Fatalf("the cross-site request changed the pool: %s", p.Status)
	}
	// Reads are never refused.
	send(t, h, req{method: "GET", path: "/api/v1/pools", cookie: cookie,
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}}).MustStatus(t, 200)

	// Same origin passes.
	send(t, h, req{method: "PATCH", path: "/api/v1/pools/status", body: body, cookie: cookie,
		header: map[string]string{"Origin": h.App.URL, "Sec-Fetch-Site": "same-origin"}}).MustStatus(t, 200)
	// A script with a bearer token and no browser headers passes.
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{id}, "status": "active"}).MustStatus(t, 200)
}

// TestLockoutAfterFiveWrongPasswords: the fifth wrong password in a row
// from one address makes that address wait for that name; while it waits
// even the right password is refused from it; an admin setting a new
// password, or the wait running out, lets it in again. (Other addresses are
// never held back: front_test.go.)
func TestLockoutAfterFiveWrongPasswords(t *testing.T) {
	t.Parallel()
	storetest.Each(t, testLockout)
}

func testLockout(t *testing.T, d store.Dialect) {
	h := startAuth(t, d)
	id := createUser(t, h, "lena", auth.RoleOperator)
	login := func(pw string) apptest.Response {
		return send(t, h, req{method: "POST", path: "/api/v1/session", body: map[string]string{"username": "lena", "password": pw}})
	}
	for i := 1; i <= 4; i++ {
		if r := login(fmt.Sprintf("wrong password %d", i)); r.Status != 401 {
			t.Fatalf("wrong password %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := login("wrong password 5")
	if r.Status != 429 || r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), "wait until") {
		t.Fatalf("fifth wrong password: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	if r := login(testPassword); r.Status != 429 {
		t.Fatalf("right password while locked: %d %s", r.Status, r.Body)
	}
	// The wait is in the database, for the name and the address.
	th, err := h.App.Store.LoginThrottleGet(t.Context(), "lena", "127.0.0.1")
	if err != nil || !th.BlockedUntil.After(time.Now()) || th.BlockedUntil.After(time.Now().Add(16*time.Minute)) {
		t.Fatalf("stored wait: %+v %v", th, err)
	}
	var users struct{ Items []auth.UserInfo }
	h.Do("GET", "/api/v1/users", nil).MustStatus(t, 200).JSON(t, &users)
	if lena := users.Items[len(users.Items)-1]; lena.Name != "lena" || lena.LockedUntil.IsZero() {
		t.Fatalf("GET /api/v1/users does not show the lock: %+v", users.Items)
	}

	// The lock runs out after 15 minutes.
	h.App.Auth.SetClock(func() time.Time { return time.Now().Add(16 * time.Minute) })
	signIn(t, h, "lena", testPassword)
	h.App.Auth.SetClock(time.Now)

	// Lock again; an admin's new password lifts it (and that is audited
	// without the password).
	for i := 1; i <= 5; i++ {
		login("wrong again")
	}
	if r := login(testPassword); r.Status != 429 {
		t.Fatalf("second lock: %d", r.Status)
	}
	newPW := "another long passphrase"
	h.Do("PATCH", fmt.Sprintf("/api/v1/users/%d", id), map[string]any{"password": newPW}).MustStatus(t, 200)
	signIn(t, h, "lena", newPW)
	if r := login(testPassword); r.Status != 401 {
		t.Fatalf("old password after the change: %d", r.Status)
	}
	rows := auditRows(t, h, "")
	for _, e := range rows {
		if strings.Contains(string(e.Request)+string(e.After)+string(e.Before), newPW) {
			t.Fatalf("audit row %d holds the new password: %+v", e.ID, e)
		}
	}
	if n := countActions(rows, "auth.login_failed"); n < 10 {
		t.Errorf("%d failed sign-ins audited, want at least 10", n)
	}
}

// TestPasswordsStoredAsArgon2id: the stored hash is the PHC argon2id string
// with berth's parameters, never the password.
func TestPasswordsStoredAsArgon2id(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite, func(c *app.Config) { c.Auth.Params = auth.DefaultParams })
	id := createUser(t, h, "hana", auth.RoleViewer)
	u, err := h.App.Store.UserGet(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(u.PasswordHash) || strings.Contains(u.PasswordHash, testPassword) {
		t.Fatalf("stored hash %q is not argon2id m=64MiB t=2 p=1", u.PasswordHash)
	}
	admin, err := h.App.Store.UserByName(t.Context(), "admin")
	if err != nil || !phc.MatchString(admin.PasswordHash) || admin.Role != "admin" {
		t.Fatalf("first admin: %+v %v", admin, err)
	}
	if ok, err := auth.VerifyPassword(testPassword, u.PasswordHash); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
}

// TestPersonalTokens: a token acts with its user's role until it is revoked
// or the user is disabled; it is shown once and listed without the secret.
func TestPersonalTokens(t *testing.T) {
	t.Parallel()
	h := startAuth(t)
	id := createUser(t, h, "tom", auth.RoleViewer)
	cookie := signIn(t, h, "tom", testPassword)

	var created struct {
		ID    int64
		Name  string
		Token string
	}
	send(t, h, req{method: "POST", path: "/api/v1/tokens", cookie: cookie, body: map[string]string{"name": "ci"}}).
		MustStatus(t, 201).JSON(t, &created)
	if !strings.HasPrefix(created.Token, auth.TokenPrefix) || created.Name != "ci" {
		t.Fatalf("created token: %+v", created)
	}
	tok := created.Token
	send(t, h, req{method: "GET", path: "/api/v1/pools", token: tok}).MustStatus(t, 200)
	var who struct{ User auth.User }
	send(t, h, req{method: "GET", path: "/api/v1/session", token: tok}).MustStatus(t, 200).JSON(t, &who)
	if who.User.Name != "tom" || who.User.Via != "token" || who.User.Role != auth.RoleViewer {
		t.Fatalf("token caller: %+v", who.User)
	}
	// A viewer's token is a viewer.
	send(t, h, req{method: "POST", path: "/api/v1/codes/batch", token: tok, body: map[string]any{"count": 1}}).MustStatus(t, 403)
	// Listed without the secret.
	list := send(t, h, req{method: "GET", path: "/api/v1/tokens", token: tok}).MustStatus(t, 200)
	if strings.Contains(string(list.Body), tok) || !strings.Contains(string(list.Body), `"ci"`) {
		t.Fatalf("token list: %s", list.Body)
	}
	// Promoted, the token is an operator at once.
	h.Do("PATCH", fmt.Sprintf("/api/v1/users/%d", id), map[string]any{"role": "operator"}).MustStatus(t, 200)
	send(t, h, req{method: "POST", path: "/api/v1/codes/batch", token: tok, body: map[string]any{"count": 1}}).MustStatus(t, 201)
	// Disabled, the token stops; enabled, it works again.
	h.Do("PATCH", fmt.Sprintf("/api/v1/users/%d", id), map[string]any{"disabled": true}).MustStatus(t, 200)
	send(t, h, req{method: "GET", path: "/api/v1/pools", token: tok}).MustStatus(t, 401)
	send(t, h, req{method: "GET", path: "/api/v1/pools", cookie: cookie}).MustStatus(t, 401) // sessions ended
	h.Do("PATCH", fmt.Sprintf("/api/v1/users/%d", id), map[string]any{"disabled": false}).MustStatus(t, 200)
	send(t, h, req{method: "GET", path: "/api/v1/pools", token: tok}).MustStatus(t, 200)
	// Another user cannot revoke it; its owner can, and it stops at once.
	createUser(t, h, "eve", auth.RoleAdmin)
	eve := signIn(t, h, "eve", testPassword)
	send(t, h, req{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", created.ID), cookie: eve}).MustStatus(t, 404)
	send(t, h, req{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", created.ID), token: tok}).MustStatus(t, 204)
	r := send(t, h, req{method: "GET", path: "/api/v1/pools", token: tok})
	if r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("revoked token: %d %s", r.Status, r.Body)
	}
	// The admin token has no user to own a token.
	h.Do("POST", "/api/v1/tokens", map[string]string{"name": "x"}).MustStatus(t, 422)
	// The last enabled admin cannot be demoted or disabled.
	var users struct{ Items []auth.UserInfo }
	h.Do("GET", "/api/v1/users", nil).MustStatus(t, 200).JSON(t, &users)
	h.Do("PATCH", fmt.Sprintf("/api/v1/users/%d", users.Items[0].ID), map[string]any{"role": "viewer"}).MustStatus(t, 200) // eve is still admin
	eveID := users.Items[len(users.Items)-1].ID
	h.Do("PATCH", fmt.Sprintf("/api/v1/users/%d", eveID), map[string]any{"disabled": true}).MustStatus(t, 409)
	h.Do("PATCH", fmt.Sprintf("/api/v1/users/%d", eveID), map[string]any{"role": "operator"}).MustStatus(t, 409)
}

type auditRow struct {
	ID       int64
	Actor    string
	Action   string
	Target   string
	Status   int
	RemoteIP string `json:"remote_ip"`
	Before   json.RawMessage
	After    json.RawMessage
	Request  json.RawMessage
}

func auditRows(t *testing.T, h *apptest.Harness, query string) []auditRow {
	t.Helper()
	var out struct{ Items []auditRow }
	h.Do("GET", "/api/v1/audit"+query, nil).MustStatus(t, 200).JSON(t, &out)
	return out.Items
}

func countActions(rows []auditRow, action string) int {
	n := 0
	for _, e := range rows {
		if e.Action == action {
			n++
		}
	}
	return n
}

// TestAuditLog: a pool status change is audited with who, the pools before
// and after; creating an SFTP pool with a password and changing it leaves
// no secret in any audit row, in JSON or CSV.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, testAuditLog)
}

func testAuditLog(t *testing.T, d store.Dialect) {
	h := startAuth(t, d)
	createUser(t, h, "olga", auth.RoleOperator)
	olga := signIn(t, h, "olga", testPassword)

	const sftpPassword = "s3cret-sftp-Pa55word"
	const keyMaterial = "very-secret-known-hosts-material"
	var p struct{ ID int64 }
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "box-1", "kind": "server", "capacity": 2,
		"provider": map[string]any{"type": "sftp", "host": "127.0.0.1", "port": 1, "user": "u", "password": sftpPassword,
			"host_key": "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", "dir": "/srv/sessions"}}).MustStatus(t, 201).JSON(t, &p)
	h.Do("PATCH", fmt.Sprintf("/api/v1/pools/%d", p.ID), map[string]any{"provider": map[string]any{"type": "sftp",
		"host": "127.0.0.1", "port": 1, "user": "u", "password": sftpPassword + "2", "known_hosts": "127.0.0.1 " + keyMaterial,
		"dir": "/srv/sessions"}}) // may fail validation; it is audited either way
	h.Do("POST", "/api/v1/users", map[string]any{"name": "pat", "password": sftpPassword, "role": "viewer"}).MustStatus(t, 201)

	// olga bans the pool.
	send(t, h, req{method: "PATCH", path: "/api/v1/pools/status", cookie: olga,
		body: map[string]any{"ids": []int64{p.ID}, "status": "banned", "message": "tos"}}).MustStatus(t, 200)
	// … and is refused a user change, which is audited as refused.
	send(t, h, req{method: "POST", path: "/api/v1/users", cookie: olga,
		body: map[string]any{"name": "mallory", "password": sftpPassword, "role": "admin"}}).MustStatus(t, 403)

	rows := auditRows(t, h, "?action=pools/status")
	if len(rows) != 1 {
		t.Fatalf("status change audit rows: %+v", rows)
	}
	e := rows[0]
	if e.Actor != "olga" || e.Action != "PATCH /api/v1/pools/status" || e.Status != 200 || e.RemoteIP != "127.0.0.1" {
		t.Fatalf("audit row: %+v", e)
	}
	var before, after []struct {
		ID     int64
		Status string
	}
	if json.Unmarshal(e.Before, &before) != nil || json.Unmarshal(e.After, &after) != nil ||
		len(before) != 1 || len(after) != 1 || before[0].Status != "active" || after[0].Status != "banned" || after[0].ID != p.ID {
		t.Fatalf("before %s after %s", e.Before, e.After)
	}
	if !strings.Contains(string(e.Request), `"tos"`) {
		t.Fatalf("request %s", e.Request)
	}

	// One resource: before and after of the pool itself.
	h.Do("PATCH", fmt.Sprintf("/api/v1/pools/%d", p.ID), map[string]any{"capacity": 5}).MustStatus(t, 200)
	rows = auditRows(t, h, "?action=PATCH%20/api/v1/pools/%7Bid%7D&limit=1")
	var pb, pa struct{ Capacity int }
	if len(rows) != 1 || rows[0].Target != fmt.Sprintf("id=%d", p.ID) || rows[0].Actor != auth.AdminTokenActor ||
		json.Unmarshal(rows[0].Before, &pb) != nil || json.Unmarshal(rows[0].After, &pa) != nil || pb.Capacity != 2 || pa.Capacity != 5 {
		t.Fatalf("pool update audit: %+v", rows)
	}

	refused := auditRows(t, h, "?actor=olga&action=users")
	if len(refused) != 1 || refused[0].Status != 403 {
		t.Fatalf("refused attempt audit: %+v", refused)
	}

	// No secret anywhere: not the SFTP or user password, not known_hosts.
	all := h.Do("GET", "/api/v1/audit?limit=100000", nil).MustStatus(t, 200)
	csvOut := h.Do("GET", "/api/v1/audit?format=csv", nil).MustStatus(t, 200)
	for _, out := range []apptest.Response{all, csvOut} {
		for _, secret := range []string{sftpPassword, keyMaterial, h.App.NewAdminPassword, testPassword, apptest.Token} {
			if bytes.Contains(out.Body, []byte(secret)) {
				t.Fatalf("an audit row holds a secret (%q): %s", secret, out.Body)
			}
		}
	}
	if !bytes.Contains(all.Body, []byte(auth.Redacted)) {
		t.Fatalf("no redacted value in the audit log: %s", all.Body)
	}
	if ct := csvOut.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("CSV export Content-Type %q", ct)
	}
	recs, err := csv.NewReader(bytes.NewReader(csvOut.Body)).ReadAll()
	if err != nil || len(recs) < 6 || strings.Join(recs[0], ",") != "id,at,actor,action,target,status,remote_ip,before,after,request" {
		t.Fatalf("CSV export: %v %v", recs, err)
	}
	// Viewers and operators cannot read it.
	send(t, h, req{method: "GET", path: "/api/v1/audit", cookie: olga}).MustStatus(t, 403)
	// Sign-ins are audited.
	if n := countActions(auditRows(t, h, "?actor=olga"), "auth.login"); n != 1 {
		t.Fatalf("%d sign-ins of olga audited", n)
	}
}
