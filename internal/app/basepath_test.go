package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// subPathClient is a browser without scripts: its own cookies, redirects
// not followed, every path under base (http://host:port/berth).
type subPathClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

type subPathReply struct {
	status int
	header http.Header
	body   string
}

func (s *subPathClient) do(method, path string, form url.Values, hdr map[string]string) subPathReply {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return subPathReply{resp.StatusCode, resp.Header, string(b)}
}

// expect checks the status and, for a redirect, the Location.
func (r subPathReply) expect(t *testing.T, what string, status int, location string) subPathReply {
	t.Helper()
	if r.status != status || location != "" && r.header.Get("Location") != location {
		t.Fatalf("%s: %d Location %q, want %d %q\n%.600s", what, r.status, r.header.Get("Location"), status, location, r.body)
	}
	return r
}

// urlAttr is an attribute holding an address, and its value.
var urlAttr = regexp.MustCompile(`\s(href|src|action|formaction|data-src|data-export|data-url|data-drain-progress)="([^"]*)"`)

// linksUnder fails when a page has a root-absolute address outside prefix:
// one the proxy would send to another application of the host.
func linksUnder(t *testing.T, what, body, prefix string) int {
	t.Helper()
	n := 0
	for _, m := range urlAttr.FindAllStringSubmatch(body, -1) {
		v := m[2]
		if strings.HasPrefix(v, "/") {
			n++
			if v != prefix && !strings.HasPrefix(v, prefix+"/") {
				t.Errorf("%s: %s=%q is outside %s", what, m[1], v, prefix)
			}
		}
	}
	if n == 0 {
		t.Errorf("%s: no links found", what)
	}
	return n
}

func cookieOf(t *testing.T, h http.Header, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %s in %q", name, h.Values("Set-Cookie"))
	return nil
}

// TestSubPath: with BERTH_BASE_URL=https://ops.example.com/berth/ berth
// works under /berth, whether the proxy passes the prefix on or strips it:
// redirects, sign-in with next=, cookies scoped to /berth, every link, form
// and asset of the pages under /berth, a PRG action, the language switch,
// the public redeem and status forms, the API docs and the OpenAPI
// document's server, sign-out.
func TestSubPath(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Auth.Params, c.AdminPassword = fastHash, testPassword
		c.Auth.LoginPerMinute, c.Auth.LoginBurst = 1e6, 1e6
		c.BaseURL = "https://ops.example.com/berth"
		c.Front.TrustedProxies = "127.0.0.1"
	})
	h.Pool("team-a", "team", 5, 1)
	var gen struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 2, "max_uses": 1, "valid_for": "720h", "rebind_limit": 3}).MustStatus(t, 201).JSON(t, &gen)

	// A proxy that strips the prefix (nginx's proxy_pass with a trailing
	// /, Caddy's handle_path) before berth sees the request.
	target, _ := url.Parse(h.App.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	stripping := httptest.NewServer(http.StripPrefix("/berth", rp))
	t.Cleanup(stripping.Close)

	for i, mode := range []struct{ name, base string }{
		{"berth strips the prefix", h.App.URL + "/berth"},
		{"the proxy strips the prefix", stripping.URL + "/berth"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			s := &subPathClient{t: t, base: mode.base, c: &http.Client{Jar: jar,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			s.do("GET", "", nil, nil).expect(t, "GET /berth", 303, "/berth/redeem")
			s.do("GET", "/", nil, nil).expect(t, "GET /berth/", 303, "/berth/redeem")
			s.do("GET", "/admin/codes", nil, nil).expect(t, "signed out", 303, "/berth/login?next=%2Fadmin%2Fcodes")
			r := s.do("GET", "/login?next=%2Fadmin%2Fcodes", nil, nil).expect(t, "sign-in page", 200, "")
			linksUnder(t, "sign-in page", r.body, "/berth")
			for _, want := range []string{`action="/berth/login"`, `href="/berth/assets/style.css"`, `src="/berth/assets/app.js"`} {
				if !strings.Contains(r.body, want) {
					t.Errorf("sign-in page lacks %s", want)
				}
			}
			for _, a := range []string{"/assets/style.css", "/assets/app.js"} {
				s.do("GET", a, nil, nil).expect(t, a, 200, "")
			}

			r = s.do("POST", "/login", url.Values{"username": {"admin"}, "password": {testPassword}, "next": {"/admin/codes"}}, nil).
				expect(t, "sign in", 303, "/berth/admin/codes")
			if ck := cookieOf(t, r.header, auth.SessionCookie); ck.Path != "/berth" || ck.Secure {
				t.Errorf("session cookie %+v, want Path=/berth, not Secure over plain HTTP", ck)
			}
			r = s.do("GET", "/admin/codes", nil, nil).expect(t, "codes page", 200, "")
			linksUnder(t, "codes page", r.body, "/berth")
			for _, want := range []string{`href="/berth/admin/seats"`, `action="/berth/admin/codes/generate"`, `action="/berth/logout"`} {
				if !strings.Contains(r.body, want) {
					t.Errorf("codes page lacks %s", want)
				}
			}
			// Post, redirect, get.
			r = s.do("POST", "/admin/codes/generate", url.Values{"count": {"2"}, "max_uses": {"1"}, "valid_for": {"720h"}, "rebind_limit": {"1"}}, nil)
			if loc := r.header.Get("Location"); r.status != 303 || !strings.HasPrefix(loc, "/berth/admin/codes?") {
				t.Fatalf("generate: %d %q\n%.600s", r.status, loc, r.body)
			}
			r = s.do("GET", strings.TrimPrefix(r.header.Get("Location"), "/berth"), nil, nil).expect(t, "after generate", 200, "")
			if !strings.Contains(r.body, `class="flash ok"`) {
				t.Errorf("the generated codes' result is missing after the redirect:\n%.2000s", r.body)
			}
			linksUnder(t, "codes after generate", r.body, "/berth")
			for _, p := range []string{"/admin/", "/admin/teams", "/admin/seats", "/admin/queue", "/admin/history", "/admin/users", "/admin/audit", "/admin/integrity", "/admin/accounts"} {
				linksUnder(t, p, s.do("GET", p, nil, nil).expect(t, p, 200, "").body, "/berth")
			}
			s.do("GET", "/admin", nil, nil).expect(t, "/admin", 303, "/berth/admin/")

			r = s.do("GET", "/lang?to=zh-CN&next=%2Fadmin%2Fcodes", nil, nil).expect(t, "language switch", 303, "/berth/admin/codes")
			if ck := cookieOf(t, r.header, "berth_lang"); ck.Path != "/berth" {
				t.Errorf("language cookie %+v, want Path=/berth", ck)
			}
			s.do("GET", "/lang?to=en", nil, nil).expect(t, "language back", 303, "/berth/")

			var doc struct{ Servers []struct{ URL string } }
			if err := json.Unmarshal([]byte(s.do("GET", "/openapi.json", nil, nil).expect(t, "openapi.json", 200, "").body), &doc); err != nil ||
				len(doc.Servers) != 1 || doc.Servers[0].URL != "/berth" {
				t.Errorf("openapi.json servers %+v (%v), want /berth", doc.Servers, err)
			}
			if b := s.do("GET", "/docs", nil, nil).expect(t, "docs", 200, "").body; !strings.Contains(b, `href="openapi.json"`) {
				t.Errorf("the docs page does not link openapi.json relative to itself")
			}
			s.do("GET", "/api/v1/session", nil, nil).expect(t, "the API with the session cookie", 200, "")

			s.do("POST", "/logout", url.Values{}, nil).expect(t, "sign out", 303, "/berth/login")
			s.do("GET", "/admin/", nil, nil).expect(t, "signed out again", 303, "/berth/login?next=%2Fadmin%2F")

			// The public pages, as a member.
			email := "li.wei" + string(rune('a'+i)) + "@example.com"
			r = s.do("POST", "/redeem", url.Values{"email": {email}, "code": {gen.Codes[i]}}, nil).expect(t, "redeem", 200, "")
			if !strings.Contains(r.body, "team-a") {
				t.Errorf("the redeem answer does not show the seat:\n%.2000s", r.body)
			}
			linksUnder(t, "redeem answer", r.body, "/berth")
			r = s.do("POST", "/status", url.Values{"email": {email}, "code": {gen.Codes[i]}}, nil).expect(t, "status", 200, "")
			linksUnder(t, "status answer", r.body, "/berth")
			if !strings.Contains(r.body, `action="/berth/status/move"`) {
				t.Errorf("the status page's move form is not under /berth")
			}
		})
	}

	t.Run("secure", func(t *testing.T) {
		// Behind an https proxy the cookie is __Secure-berth_session with
		// Path=/berth: __Host- would demand Path=/.
		s := &subPathClient{t: t, base: h.App.URL + "/berth", c: from("127.0.0.1")}
		https := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
		r := s.do("POST", "/login", url.Values{"username": {"admin"}, "password": {testPassword}}, https).expect(t, "sign in over https", 303, "/berth/admin/")
		ck := cookieOf(t, r.header, auth.SubPathSessionCookie)
		if ck.Path != "/berth" || !ck.Secure || !ck.HttpOnly || ck.Domain != "" {
			t.Fatalf("secure session cookie %+v", ck)
		}
		https["Cookie"] = auth.SubPathSessionCookie + "=" + ck.Value
		s.do("GET", "/admin/", nil, https).expect(t, "signed in over https", 200, "")
		// The root's name does not count under a prefix.
		https["Cookie"] = auth.SecureSessionCookie + "=" + ck.Value
		s.do("GET", "/admin/", nil, https).expect(t, "with the __Host- name", 303, "/berth/login?next=%2Fadmin%2F")
	})

	// A prefix that is one of berth's own paths would be ambiguous.
	if _, err := app.Start(context.Background(), app.Config{DB: storetest.DSN(t, store.SQLite), Listen: "127.0.0.1:0",
		Sealer: storetest.Box(t), BaseURL: "https://ops.example.com/admin"}); err == nil || !strings.Contains(err.Error(), "BERTH_BASE_URL") {
		t.Fatalf("BERTH_BASE_URL with the path /admin: %v", err)
	}
}
