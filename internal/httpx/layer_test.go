package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
)

// rows is a fake Auditor: it keeps every row, with the actor it was
// written for.
type rows struct {
	got    []store.AuditEntry
	actors []string
}

func (a *rows) Audit(ctx context.Context, e store.AuditEntry) {
	a.got = append(a.got, e)
	a.actors = append(a.actors, auth.Actor(ctx))
}

// refusals is a fake Refuse: it keeps what it was asked to answer.
type refusals struct {
	status []int
	errs   []error
}

func (f *refusals) refuse(w http.ResponseWriter, r *http.Request, status int, err error) {
	f.status, f.errs = append(f.status, status), append(f.errs, err)
	w.WriteHeader(status)
}

// byHeader authenticates "X-Caller: name role".
func byHeader(r *http.Request) (auth.User, error) {
	f := strings.Fields(r.Header.Get("X-Caller"))
	if len(f) != 2 {
		return auth.User{}, auth.ErrNoCredentials
	}
	return auth.User{Name: f[0], Role: auth.Role(f[1])}, nil
}

func TestGuard(t *testing.T) {
	a := &rows{}
	f := &refusals{}
	var described []bool
	g := &Guard{Authenticate: byHeader, Refuse: f.refuse, Audit: &Audit{Auditor: a, Prefix: "web: ",
		Describe: func(r *http.Request, rt Route, n *Note, refused bool) {
			described = append(described, refused)
			n.Target = "id=" + r.PathValue("id")
		}}}
	rt := Route{Method: "POST", Path: "/pools/{id}/drain", Role: auth.RoleOperator}
	ran := 0
	var seen auth.User
	h := g.Handler(rt, g.Audit.Handler(rt, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran++
		seen, _ = auth.FromContext(r.Context())
		n := NoteOf(r)
		n.Before, n.After = map[string]int{"members": 3}, json.RawMessage(`{"members":0}`)
		w.WriteHeader(http.StatusAccepted)
		w.WriteHeader(http.StatusTeapot) // ignored, as net/http does
	})))
	mux := http.NewServeMux()
	mux.Handle(rt.Pattern(), h)
	do := func(caller string) int {
		r := httptest.NewRequest("POST", "/pools/7/drain", nil)
		if caller != "" {
			r.Header.Set("X-Caller", caller)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w.Code
	}

	// No caller: 401 with the authentication's error, no row, no handler.
	if got := do(""); got != 401 || ran != 0 || len(a.got) != 0 || !errors.Is(f.errs[0], auth.ErrNoCredentials) {
		t.Fatalf("no caller: %d, ran %d, rows %v, refused %v", got, ran, a.got, f.errs)
	}
	// A viewer: 403 with a RoleError naming both roles, and a refused row.
	if got := do("vera viewer"); got != 403 || ran != 0 {
		t.Fatalf("viewer: %d, ran %d", got, ran)
	}
	var re *RoleError
	if !errors.As(f.errs[1], &re) || re.Error() != "POST /pools/{id}/drain needs role operator; vera has role viewer" {
		t.Fatalf("viewer refused with %v", f.errs[1])
	}
	if len(a.got) != 1 || a.got[0].Action != "web: POST /pools/{id}/drain" || a.got[0].Status != 403 ||
		a.got[0].Target != "id=7" || a.got[0].Before != nil || a.actors[0] != "vera" || !described[0] {
		t.Fatalf("refused row %+v by %v (described %v)", a.got, a.actors, described)
	}
	// An operator: the handler runs with the caller in its context, and
	// its row holds the first status and what it noted.
	if got := do("otto operator"); got != 202 || ran != 1 || seen.Name != "otto" {
		t.Fatalf("operator: %d, ran %d as %+v", got, ran, seen)
	}
	e := a.got[1]
	if len(a.got) != 2 || e.Status != 202 || e.Target != "id=7" || string(e.Before) != `{"members":3}` ||
		string(e.After) != `{"members":0}` || e.Request != nil || a.actors[1] != "otto" || described[1] {
		t.Fatalf("row %+v by %v (described %v)", a.got, a.actors, described)
	}
	// An admin passes too.
	if got := do("ada admin"); got != 202 || ran != 2 || len(a.got) != 3 {
		t.Fatalf("admin: %d, ran %d, rows %d", got, ran, len(a.got))
	}
}

// Reads, routes that write their own row, and a front end without an
// auditor write no rows; NoteOf outside an audited route is a throwaway.
func TestAuditOnlyStateChanging(t *testing.T) {
	a := &rows{}
	au := &Audit{Auditor: a}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { NoteOf(r).Target = "x" })
	for _, rt := range []Route{
		{Method: "GET", Path: "/pools", Role: auth.RoleViewer},
		{Method: "DELETE", Path: "/session", Role: auth.RoleViewer, NoAudit: true},
	} {
		au.Handler(rt, next).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(rt.Method, rt.Path, nil))
	}
	rt := Route{Method: "PATCH", Path: "/pools", Role: auth.RoleOperator}
	(&Audit{}).Handler(rt, next).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PATCH", "/pools", nil))
	if len(a.got) != 0 {
		t.Fatalf("rows %+v", a.got)
	}
	au.Handler(rt, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		NoteOf(r).Request = map[string]string{"status": "paused"}
		w.Write([]byte("ok")) // no WriteHeader: 200
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PATCH", "/pools", nil))
	if len(a.got) != 1 || a.got[0].Action != "PATCH /pools" || a.got[0].Status != 200 || string(a.got[0].Request) != `{"status":"paused"}` {
		t.Fatalf("rows %+v", a.got)
	}
}

func TestStatusWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewStatusWriter(rec)
	if w.Status() != 200 {
		t.Fatalf("before anything: %d", w.Status())
	}
	w.Write([]byte("x"))
	w.WriteHeader(500) // after the body: too late, as on the wire
	if w.Status() != 200 || rec.Code != 200 {
		t.Fatalf("status %d, sent %d", w.Status(), rec.Code)
	}
	if http.NewResponseController(w).Flush() != nil || !rec.Flushed {
		t.Fatal("Unwrap does not reach the writer underneath")
	}
	if w.Bytes() != 1 {
		t.Fatalf("bytes %d, want 1", w.Bytes())
	}
	// An informational answer is not the final status.
	w = NewStatusWriter(httptest.NewRecorder())
	w.WriteHeader(http.StatusEarlyHints)
	w.WriteHeader(http.StatusConflict)
	if w.Status() != http.StatusConflict {
		t.Fatalf("after 103 then 409: status %d", w.Status())
	}
}

func TestLimiter(t *testing.T) {
	f := &refusals{}
	l := NewLimiter(1, 2)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	h := l.Handler(f.refuse, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	do := func(addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/redeem", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 2 {
		if w := do("198.51.100.7:4000"); w.Code != 204 {
			t.Fatalf("request %d inside the burst: %d", i, w.Code)
		}
	}
	w := do("198.51.100.7:4001")
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" || // a second to wait, rounded up past it
		len(f.errs) != 1 || f.errs[0] != ErrTooManyRequests {
		t.Fatalf("over the limit: %d, Retry-After %q, refused %v", w.Code, w.Header().Get("Retry-After"), f.errs)
	}
	if w := do("198.51.100.8:4000"); w.Code != 204 {
		t.Fatalf("another address: %d", w.Code)
	}
	// An IPv6 client is counted by its /64.
	do("[2001:db8:1:2::1]:4000")
	do("[2001:db8:1:2::2]:4000")
	if w := do("[2001:db8:1:2::3]:4000"); w.Code != 429 {
		t.Fatalf("a third address of one /64: %d", w.Code)
	}
	now = now.Add(time.Second)
	if w := do("198.51.100.7:4000"); w.Code != 204 {
		t.Fatalf("a second later: %d", w.Code)
	}
	l.SetRate(1, 5)
	for i := range 5 {
		if w := do("198.51.100.7:4000"); w.Code != 204 {
			t.Fatalf("request %d after SetRate: %d", i, w.Code)
		}
	}
}

func TestMount(t *testing.T) {
	type entry struct {
		Route
		body string
	}
	mux := http.NewServeMux()
	Mount(mux, []entry{{Route{Method: "GET", Path: "/a/{id}", Public: true}, "a"}}, func(e entry) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(e.body + r.PathValue("id"))) })
	})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/a/3", nil))
	if w.Body.String() != "a3" {
		t.Fatalf("GET /a/3: %q", w.Body.String())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a route neither public nor with a role was mounted")
		}
	}()
	Mount(http.NewServeMux(), []Route{{Method: "GET", Path: "/b"}}, func(Route) http.Handler { return http.NotFoundHandler() })
}

func TestCrossOrigin(t *testing.T) {
	f := &refusals{}
	h := CrossOrigin(Refuse(f.refuse).With(http.StatusForbidden, ErrCrossSite)).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for method, want := range map[string]int{"POST": 403, "GET": 204} {
		r := httptest.NewRequest(method, "/x", nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("cross-site %s: %d, want %d", method, w.Code, want)
		}
	}
	if len(f.errs) != 1 || f.errs[0] != ErrCrossSite {
		t.Fatalf("refused %v", f.errs)
	}
	r := httptest.NewRequest("POST", "/x", nil) // curl: no browser headers
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 204 {
		t.Fatalf("POST without browser headers: %d", w.Code)
	}
}
