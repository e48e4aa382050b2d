package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/web"
)

// Passwords of the test users (the rules want 12 characters or more).
const (
	adminPassword = "admin-password-0123"
	userPassword  = "user-password-45678"
)

// console is a running berth with its web console and three users:
// admin (admin), oper (operator) and view (viewer).
type console struct {
	t   testing.TB
	h   *apptest.Harness
	URL string
	Web *web.Web
}

// startConsole runs the real berth (apptest) with the console in front. When
// app mounts the console itself, its own server is used; otherwise the
// console and the API are served together here, the way app mounts them.
func startConsole(t testing.TB) *console {
	t.Helper()
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.AdminPassword = adminPassword
		// Cheap hashing: the tests sign in often, under -race.
		c.Auth.Params = auth.Params{Time: 1, Memory: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}
	})
	ctx := context.Background()
	for name, role := range map[string]auth.Role{"oper": auth.RoleOperator, "view": auth.RoleViewer} {
		if _, err := h.App.Auth.CreateUser(ctx, name, userPassword, role); err != nil {
			t.Fatalf("create user %s: %v", name, err)
		}
	}
	c := &console{t: t, h: h, Web: web.New(h.App.Alloc, h.App.Auth, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	c.Web.SetPublicRate(1e6, 1e6)
	if resp, err := http.Get(h.App.URL + "/login"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			c.URL = h.App.URL
			return c
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/", h.App.API)
	c.Web.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// client returns an HTTP client with its own cookies that does not follow
// redirects.
func (c *console) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn returns a client signed in as user.
func (c *console) signIn(user, password string) *http.Client {
	c.t.Helper()
	cl := c.client()
	resp, err := cl.PostForm(c.URL+"/login", url.Values{"username": {user}, "password": {password}, "next": {"/admin/"}})
	if err != nil {
		c.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/" {
		c.t.Fatalf("sign-in as %s: %d %s: %s", user, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return cl
}

type reply struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
}

func (c *console) do(cl *http.Client, method, path string, form url.Values, header map[string]string) reply {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := cl.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(b), Header: resp.Header}
}

// post sends a console action as cl, wants 303 See Other to a console page
// (post/redirect/get) and returns that page, fetched with GET.
func (c *console) post(cl *http.Client, path string, form url.Values) reply {
	c.t.Helper()
	r := c.do(cl, "POST", path, form, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/") {
		c.t.Fatalf("POST %s: %d to %q, want 303 to a console page:\n%s", path, r.Status, r.Location, r.Body)
	}
	return c.do(cl, "GET", r.Location, nil, nil)
}

// pageIn switches cl to language lng, fetches path as cl, wants 200 OK and
// returns the page.
func (c *console) pageIn(cl *http.Client, lng, path string) string {
	c.t.Helper()
	if r := c.do(cl, "GET", "/lang?to="+lng+"&next="+url.QueryEscape(path), nil, nil); r.Status != http.StatusSeeOther {
		c.t.Fatalf("switch to %s: %d", lng, r.Status)
	}
	r := c.do(cl, "GET", path, nil, nil)
	if r.Status != http.StatusOK {
		c.t.Fatalf("%s: %d %s", path, r.Status, r.Body)
	}
	return r.Body
}

// cellsOf joins, with " | ", the first group of re's every match in body
// (a column of a page's table).
func cellsOf(re *regexp.Regexp, body string) string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, " | ")
}

// unevenServers gives c three servers of 10 seats, srv-1 holding six
// active seats (script-A) and srv-2 and srv-3 none: a spread rebalance
// moves four.
func (c *console) unevenServers() {
	c.t.Helper()
	c.h.Pool("srv-1", "server", 10, 0)
	c.h.Import("script-A", apptest.Files("63927700", 0, 6))
	apptest.Eventually(c.t, 10*time.Second, "six active seats", func() bool {
		var n int
		c.h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM seats WHERE state = 'active'`).Scan(&n)
		return n == 6
	})
	c.h.Pool("srv-2", "server", 10, 0)
	c.h.Pool("srv-3", "server", 10, 0)
}
