package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The front door (issue 11, findings 4, 6 and 7's cookies), end to end over
// HTTP: the sign-in throttle per (user, address), the client address behind
// trusted proxies, and cookie security.

var fastHash = apptest.FastHash

// from is an HTTP client whose connections come from the loopback address
// ip (127.0.0.0/8 is all local on Linux): a distinct client address.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func call(t *testing.T, c *http.Client, h *apptest.Harness, method, path, ctype string, body []byte, hdr map[string]string) apptest.Response {
	t.Helper()
	r, err := http.NewRequest(method, h.App.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

func loginBody(name, password string) []byte {
	b, _ := json.Marshal(map[string]string{"username": name, "password": password})
	return b
}

// TestStrangerCannotLockOutAdmin: ten wrong passwords for admin from one
// address (with the default sign-in limits), then the right one from another
// address signs in. Before issue 11 the fifth wrong password locked the user
// admin for everyone for 15 minutes.
func TestStrangerCannotLockOutAdmin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d, func(c *app.Config) { c.Auth.Params, c.AdminPassword = fastHash, testPassword })
		stranger, owner := from("127.0.0.9"), from("127.0.0.1")
		for i := 1; i <= 10; i++ {
			r := call(t, stranger, h, "POST", "/api/v1/session", "application/json", loginBody("admin", "not the password"), nil)
			if r.Status != 401 && r.Status != 429 {
				t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
			}
		}
		r := call(t, owner, h, "POST", "/api/v1/session", "application/json", loginBody("admin", testPassword), nil)
		if r.Status != 200 {
			t.Fatalf("the owner from another address after a stranger's 10 guesses: %d %s", r.Status, r.Body)
		}
		r = call(t, stranger, h, "POST", "/api/v1/session", "application/json", loginBody("admin", testPassword), nil)
		if r.Status != 429 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("the stranger's address is not told to wait: %d %s", r.Status, r.Body)
		}
		// The audit log keeps every failure with the stranger's address.
		var failed int
		for _, e := range auditRows(t, h, "") {
			if e.Action == "auth.login_failed" && e.RemoteIP == "127.0.0.9" {
				failed++
			}
		}
		if failed != 5 {
			t.Errorf("%d failed sign-ins from 127.0.0.9 audited, want 5 (then it waits)", failed)
		}
	})
}

// TestUnknownUserAnsweredAlike: a known and an unknown user name get
// byte-identical answers, attempt after attempt, the API's and the
// console's, up to and including the 429 with Retry-After that tells the
// address to wait.
func TestUnknownUserAnsweredAlike(t *testing.T) {
	t.Parallel()
	h := startAuth(t)
	createUser(t, h, "ivan", auth.RoleViewer)
	now := time.Now().UTC().Truncate(time.Second)
	h.App.Auth.SetClock(func() time.Time { return now }) // Retry-After and the wait's end are equal to the second
	c := from("127.0.0.1")
	strip := func(hd http.Header) http.Header {
		hd = hd.Clone()
		hd.Del("X-Request-Id")
		hd.Del("Date")
		return hd
	}
	for i := 1; i <= 7; i++ {
		known := call(t, c, h, "POST", "/api/v1/session", "application/json", loginBody("ivan", "wrong password!"), nil)
		unknown := call(t, c, h, "POST", "/api/v1/session", "application/json", loginBody("nobody-here", "wrong password!"), nil)
		if known.Status != unknown.Status || !bytes.Equal(known.Body, unknown.Body) ||
			!equalHeaders(strip(known.Header), strip(unknown.Header)) {
			t.Fatalf("attempt %d: known %d %v %s, unknown %d %v %s", i, known.Status, known.Header, known.Body,
				unknown.Status, unknown.Header, unknown.Body)
		}
		want := 401
		if i >= 5 {
			want = 429
		}
		if known.Status != want || want == 429 && known.Header.Get("Retry-After") == "" {
			t.Fatalf("attempt %d: %d (Retry-After %q), want %d", i, known.Status, known.Header.Get("Retry-After"), want)
		}
		if strings.Contains(strings.ToLower(string(known.Body)), "exist") || strings.Contains(string(known.Body), "ivan") {
			t.Fatalf("the answer speaks of the user: %s", known.Body)
		}
	}
	// The console's sign-in form answers alike too (it repeats the name
	// typed, so compare with the name taken out).
	c2 := from("127.0.0.2")
	for i := 1; i <= 6; i++ {
		form := func(name string) apptest.Response {
			return call(t, c2, h, "POST", "/login", "application/x-www-form-urlencoded",
				[]byte(url.Values{"username": {name}, "password": {"wrong password!"}}.Encode()), nil)
		}
		k, u := form("ivan"), form("nobody-here")
		kb := strings.ReplaceAll(string(k.Body), "ivan", "NAME")
		ub := strings.ReplaceAll(string(u.Body), "nobody-here", "NAME")
		if k.Status != u.Status || kb != ub || k.Header.Get("Retry-After") != u.Header.Get("Retry-After") {
			t.Fatalf("console attempt %d: known %d, unknown %d", i, k.Status, u.Status)
		}
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}

func redeemBody() []byte { return []byte(`{"email":"a@example.com","code":"AAAA-BBBB-CCCC-DDDD"}`) }

// TestTrustedProxyBuckets: behind a trusted proxy each client has its own
// bucket in every per-address limit (public API, public forms, sign-in)
// and its own address in the audit log; entries a client wrote to the left
// of X-Forwarded-For do not count.
func TestTrustedProxyBuckets(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Auth.Params = fastHash
		c.Auth.LoginPerMinute, c.Auth.LoginBurst = 0.01, 1
		c.Front = app.Front{TrustedProxies: "127.0.0.1", FormRate: 0.01, FormBurst: 1}
	})
	h.App.API.SetPublicRate(0.01, 1)
	proxy := from("127.0.0.1")
	xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }
	api := func(v string) int {
		return call(t, proxy, h, "POST", "/api/v1/public/redeem", "application/json", redeemBody(), xff(v)).Status
	}
	form := func(v string) int {
		return call(t, proxy, h, "POST", "/redeem", "application/x-www-form-urlencoded",
			[]byte("email=a%40example.com&code=AAAA-BBBB-CCCC-DDDD"), xff(v)).Status
	}
	login := func(v string) int {
		return call(t, proxy, h, "POST", "/api/v1/session", "application/json", loginBody("admin", "wrong password!"), xff(v)).Status
	}
	for name, try := range map[string]func(string) int{"public API": api, "public form": form, "sign-in": login} {
		if s := try("203.0.113.1"); s == 429 {
			t.Fatalf("%s: first request of client 1 refused", name)
		}
		if s := try("203.0.113.1"); s != 429 {
			t.Fatalf("%s: client 1 over its limit got %d", name, s)
		}
		if s := try("203.0.113.2"); s == 429 {
			t.Fatalf("%s: client 2 shares client 1's bucket", name)
		}
		if s := try("198.51.100.66, 203.0.113.1"); s != 429 {
			t.Fatalf("%s: a spoofed left-most entry gave client 1 a new bucket (%d)", name, s)
		}
	}
	var seen []string
	for _, e := range auditRows(t, h, "") {
		if e.Action == "auth.login_failed" {
			seen = append(seen, e.RemoteIP)
		}
	}
	if strings.Join(seen, ",") != "203.0.113.2,203.0.113.1" && strings.Join(seen, ",") != "203.0.113.1,203.0.113.2" {
		t.Fatalf("audited sign-in addresses %v, want the two clients'", seen)
	}
}

// TestUntrustedPeerHeadersIgnored: without trusted proxies (the default),
// or from a peer outside them, X-Forwarded-For changes nothing.
func TestUntrustedPeerHeadersIgnored(t *testing.T) {
	t.Parallel()
	for _, trusted := range []string{"", "10.0.0.0/8"} {
		h := apptest.Start(t, store.SQLite, func(c *app.Config) { c.Front.TrustedProxies = trusted })
		h.App.API.SetPublicRate(0.01, 1)
		c := from("127.0.0.1")
		for i, v := range []string{"203.0.113.1", "203.0.113.2"} {
			s := call(t, c, h, "POST", "/api/v1/public/redeem", "application/json", redeemBody(),
				map[string]string{"X-Forwarded-For": v}).Status
			if i == 0 && s == 429 || i == 1 && s != 429 {
				t.Fatalf("trusted %q, X-Forwarded-For %s: %d", trusted, v, s)
			}
		}
	}
}

// TestSecureCookiesBehindProxy: a trusted proxy that says https gets the
// __Host- session cookie (Secure, Path=/, no Domain) and HSTS, and the
// cookie works; a client sending X-Forwarded-Proto itself gets neither;
// BERTH_COOKIE_SECURE=true makes cookies Secure over plain HTTP.
func TestSecureCookiesBehindProxy(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Auth.Params, c.AdminPassword = fastHash, testPassword
		c.Auth.LoginPerMinute, c.Auth.LoginBurst = 1e6, 1e6
		c.Front.TrustedProxies = "127.0.0.1"
	})
	viaHTTPS := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.1"}
	check := func(c *http.Client, hdr map[string]string, wantSecure bool) *http.Cookie {
		t.Helper()
		r := call(t, c, h, "POST", "/api/v1/session", "application/json", loginBody("admin", testPassword), hdr)
		r.MustStatus(t, 200)
		cs := (&http.Response{Header: r.Header}).Cookies()
		if len(cs) != 1 {
			t.Fatalf("cookies %v", cs)
		}
		ck, hsts := cs[0], r.Header.Get("Strict-Transport-Security")
		if wantSecure != (ck.Name == auth.SecureSessionCookie && ck.Secure && hsts == auth.HSTS) ||
			!wantSecure && (ck.Name != auth.SessionCookie || ck.Secure || hsts != "") ||
			ck.Path != "/" || ck.Domain != "" {
			t.Fatalf("want secure %v: cookie %+v, HSTS %q", wantSecure, ck, hsts)
		}
		return &http.Cookie{Name: ck.Name, Value: ck.Value}
	}
	ck := check(from("127.0.0.1"), viaHTTPS, true)
	// The cookie signs the user in through the proxy, on the API and the console.
	hdr := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.1", "Cookie": ck.String()}
	call(t, from("127.0.0.1"), h, "GET", "/api/v1/session", "", nil, hdr).MustStatus(t, 200)
	call(t, from("127.0.0.1"), h, "GET", "/admin/", "", nil, hdr).MustStatus(t, 200)
	// A client that is no trusted proxy cannot claim https.
	check(from("127.0.0.3"), viaHTTPS, false)

	h2 := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Auth.Params, c.AdminPassword = fastHash, testPassword
		c.Front.CookieSecure = "true"
	})
	h = h2
	check(from("127.0.0.1"), nil, true)

	// A bad setting refuses to start.
	if _, err := app.Start(context.Background(), app.Config{DB: storetest.DSN(t, store.SQLite), Listen: "127.0.0.1:0",
		Sealer: storetest.Box(t), Front: app.Front{CookieSecure: "maybe"}}); err == nil || !strings.Contains(err.Error(), "BERTH_COOKIE_SECURE") {
		t.Fatalf("BERTH_COOKIE_SECURE=maybe: %v", err)
	}
	if _, err := app.Start(context.Background(), app.Config{DB: storetest.DSN(t, store.SQLite), Listen: "127.0.0.1:0",
		Sealer: storetest.Box(t), Front: app.Front{TrustedProxies: "10.0.0.0/33"}}); err == nil || !strings.Contains(err.Error(), "BERTH_TRUSTED_PROXIES") {
		t.Fatalf("BERTH_TRUSTED_PROXIES=10.0.0.0/33: %v", err)
	}
}
