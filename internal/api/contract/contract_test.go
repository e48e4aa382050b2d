package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/berthhq/berth/internal/api"
	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// unknownCode is a well-formed redeem code no berth generated.
const unknownCode = "AAAA-BBBB-CCCC-DDDD-EEEE"

const password = "correct horse battery staple"

// fastHash keeps the test's password hashes cheap (the costs are not what
// is tested here).
var fastHash = apptest.FastHash

// The docs page is text/html, which kin-openapi has no decoder for: it is
// read as text, like text/plain, and held against its string schema. A
// backup (application/vnd.sqlite3) is read as a file.
func init() {
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/vnd.sqlite3", openapi3filter.FileBodyDecoder)
}

// loadDocument parses and validates an OpenAPI document and builds its router.
func loadDocument(data []byte) (*openapi3.T, routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, nil, fmt.Errorf("not a valid OpenAPI document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("router: %w", err)
	}
	return doc, router, nil
}

// route is a route of the table: method and path pattern.
type route struct{ method, path string }

func (r route) key() string { return r.method + " " + r.path }

// table lists the routes of berth's route table.
func table(s *api.Server) []route {
	var out []route
	for _, rt := range s.Routes() {
		out = append(out, route{rt.Method, rt.Path})
	}
	return out
}

// missingOperations lists the routes that have no operation in the
// document.
func missingOperations(doc *openapi3.T, routes []route) []string {
	var out []string
	for _, rt := range routes {
		item := doc.Paths.Value(rt.path)
		if item == nil || item.GetOperation(rt.method) == nil {
			out = append(out, rt.key())
		}
	}
	return out
}

// checkResponse holds one answer against the document: the request must
// find an operation, the status must be documented, and the content type,
// headers and body must match what the document says of that status. It
// returns the operation's key, "METHOD /path" as in the route table.
func checkResponse(router routers.Router, req *http.Request, status int, header http.Header, body []byte) (string, error) {
	route, params, err := router.FindRoute(req)
	if err != nil {
		return "", fmt.Errorf("%s %s: no operation in the document: %w", req.Method, req.URL.Path, err)
	}
	key := req.Method + " " + route.Path
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return key, err
	}
	if resp := route.Operation.Responses.Status(status); resp != nil && resp.Value != nil &&
		len(resp.Value.Content) == 0 && len(bytes.TrimSpace(body)) > 0 {
		return key, fmt.Errorf("status %d is documented without a body, but the answer has %d bytes", status, len(body))
	}
	return key, nil
}

// checkRequest holds a request berth accepted against the document: its
// parameters and body must be ones the document allows.
func checkRequest(router routers.Router, req *http.Request) error {
	route, params, err := router.FindRoute(req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	})
}

// contract drives a running berth and checks every answer.
type contract struct {
	t      *testing.T
	h      *apptest.Harness
	router routers.Router
	routes []route
	public map[string]bool // keys of the public routes
	// ok: the routes a successful (2xx) answer was checked for; seen:
	// every status checked, per route.
	ok   map[string]bool
	seen map[string]map[int]bool
}

func newContract(t *testing.T, h *apptest.Harness) *contract {
	t.Helper()
	c := &contract{t: t, h: h, routes: table(h.App.API), public: map[string]bool{}, ok: map[string]bool{}, seen: map[string]map[int]bool{}}
	for _, rt := range h.App.API.Routes() {
		if rt.Public {
			c.public[rt.Method+" "+rt.Path] = true
		}
	}
	r := h.DoAuth("GET", "/openapi.json", nil, "").MustStatus(t, 200)
	doc, router, err := loadDocument(r.Body)
	if err != nil {
		t.Fatalf("/openapi.json: %v", err)
	}
	c.router = router
	if miss := missingOperations(doc, c.routes); len(miss) > 0 {
		t.Errorf("routes of the table without an operation in /openapi.json: %s", strings.Join(miss, ", "))
	}
	return c
}

// request is one request of the test.
type request struct {
	method, path string
	body         any    // JSON-encoded unless []byte; nil for none
	ctype        string // Content-Type; application/json when body is set
	token        string // bearer token; "" for none
	cookie       *http.Cookie
	header       map[string]string
}

// headers are the request's own headers, its Content-Type and its
// credentials.
func (rq request) headers() http.Header {
	h := http.Header{}
	for k, v := range rq.header {
		h.Set(k, v)
	}
	if rq.ctype != "" {
		h.Set("Content-Type", rq.ctype)
	} else if rq.body != nil {
		h.Set("Content-Type", "application/json")
	}
	if rq.token != "" {
		h.Set("Authorization", "Bearer "+rq.token)
	}
	if rq.cookie != nil {
		h.Set("Cookie", rq.cookie.String())
	}
	return h
}

// send sends rq, checks the answer against the document and that its
// status is want.
func (c *contract) send(want int, rq request) apptest.Response {
	c.t.Helper()
	var data []byte
	switch b := rq.body.(type) {
	case nil:
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(rq.method, c.h.App.URL+rq.path, bytes.NewReader(data))
	if err != nil {
		c.t.Fatal(err)
	}
	if rq.body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header = rq.headers()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	out := apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}

	// The validator reads the request's URL, method and headers only.
	check, _ := http.NewRequest(rq.method, c.h.App.URL+rq.path, nil)
	check.Header = req.Header
	key, err := checkResponse(c.router, check, resp.StatusCode, resp.Header, body)
	if err != nil {
		c.t.Errorf("%s %s → %d: answer does not match the document: %v\nbody: %s", rq.method, rq.path, resp.StatusCode, err, clip(body))
	}
	if err == nil && resp.StatusCode < 300 {
		in, _ := http.NewRequest(rq.method, c.h.App.URL+rq.path, bytes.NewReader(data))
		in.Header = req.Header
		if err := checkRequest(c.router, in); err != nil {
			c.t.Errorf("%s %s was accepted (%d) but the document refuses the request: %v\nrequest: %s", rq.method, rq.path, resp.StatusCode, err, clip(data))
		}
	}
	if resp.StatusCode != want {
		c.t.Errorf("%s %s: status %d, want %d: %s", rq.method, rq.path, resp.StatusCode, want, clip(body))
	}
	if resp.StatusCode == http.StatusAccepted {
		// A 202 says where to follow the work: Location, the same as follow
		// in the body, a GET that answers.
		var b struct{ Follow string }
		json.Unmarshal(body, &b)
		if loc := resp.Header.Get("Location"); loc == "" || b.Follow != loc || !strings.HasPrefix(loc, "/api/v1/") {
			c.t.Errorf("%s %s → 202: Location %q, follow %q: want the same GET under /api/v1/", rq.method, rq.path, loc, b.Follow)
		} else {
			c.admin(200, "GET", loc, nil)
		}
	}
	if err == nil && key != "" {
		if c.seen[key] == nil {
			c.seen[key] = map[int]bool{}
		}
		c.seen[key][resp.StatusCode] = true
		if resp.StatusCode < 300 {
			c.ok[key] = true
		}
	}
	return out
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// admin sends a request with the admin token.
func (c *contract) admin(want int, method, path string, body any) apptest.Response {
	c.t.Helper()
	return c.send(want, request{method: method, path: path, body: body, token: apptest.Token})
}

// anon sends a request without credentials.
func (c *contract) anon(want int, method, path string, body any) apptest.Response {
	c.t.Helper()
	return c.send(want, request{method: method, path: path, body: body})
}

// id decodes the "id" field of a JSON answer.
func (c *contract) id(r apptest.Response) int64 {
	c.t.Helper()
	var v struct{ ID int64 }
	r.JSON(c.t, &v)
	if v.ID == 0 {
		c.t.Fatalf("no id in %s", r.Body)
	}
	return v.ID
}

// coverage fails for every route of the table no successful answer was
// checked for, and every non-public route whose 401 was not checked.
func (c *contract) coverage() {
	c.t.Helper()
	var missing []string
	for _, rt := range c.routes {
		key := rt.key()
		if !c.ok[key] {
			missing = append(missing, key+" (no 2xx)")
		}
		if !c.public[key] && !c.seen[key][http.StatusUnauthorized] {
			missing = append(missing, key+" (no 401)")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		c.t.Errorf("routes not covered by the contract test: %s", strings.Join(missing, ", "))
	}
	var statuses int
	for _, rt := range c.routes {
		var got []int
		for st := range c.seen[rt.key()] {
			got = append(got, st)
		}
		sort.Ints(got)
		statuses += len(got)
		c.t.Logf("%-40s %v", rt.key(), got)
	}
	c.t.Logf("checked %d routes, %d route/status pairs", len(c.seen), statuses)
}

// TestContract drives every route of the table against a real berth and
// holds each answer against /openapi.json.
func TestContract(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d, func(cfg *app.Config) { cfg.Auth.Params = fastHash })
		c := newContract(t, h)
		drive(c)
		c.coverage()
	})
}

func drive(c *contract) {
	t := c.t

	// ---- health and documents --------------------------------------------
	c.anon(200, "GET", "/healthz", nil)
	c.anon(200, "GET", "/readyz", nil)
	c.anon(200, "GET", "/metrics", nil)
	c.anon(200, "GET", "/openapi.json", nil)
	c.anon(200, "GET", "/docs", nil)

	// ---- 401 on every non-public route ------------------------------------
	for _, rt := range c.routes {
		if c.public[rt.key()] {
			continue
		}
		path := strings.NewReplacer("{id}", "1", "{run}", "1", "{kind}", "server", "{member}", "m1",
			"{code}", unknownCode).Replace(rt.path)
		c.anon(401, rt.method, path, nil)
	}
	c.send(401, request{method: "GET", path: "/api/v1/pools", token: "berth_pat_not-a-token"})

	// ---- pools -------------------------------------------------------------
	pool := func(name, kind string, capacity, priority int, provider map[string]any) int64 {
		return c.id(c.admin(201, "POST", "/api/v1/pools", map[string]any{"name": name, "kind": kind, "capacity": capacity,
			"priority": priority, "labels": map[string]string{"region": "us"}, "provider": provider}))
	}
	sim := map[string]any{"type": "sim"}
	srv1 := pool("srv-1", "server", 1, 0, sim)
	srv2 := pool("srv-2", "server", 1, 1, sim)
	team1 := pool("team-1", "team", 2, 0, sim)
	team2 := pool("team-2", "team", 2, 1, sim)
	c.admin(409, "POST", "/api/v1/pools", map[string]any{"name": "srv-1", "kind": "server", "capacity": 1, "provider": sim})
	c.admin(422, "POST", "/api/v1/pools", map[string]any{"name": "bad", "kind": "server", "capacity": -1, "provider": sim})
	c.admin(422, "POST", "/api/v1/pools", map[string]any{"name": "bad", "kind": "boat", "capacity": 1, "provider": sim})
	c.admin(400, "POST", "/api/v1/pools", []byte(`{"name":`))
	c.admin(400, "POST", "/api/v1/pools", map[string]any{"name": "bad", "colour": "red"})
	c.send(415, request{method: "POST", path: "/api/v1/pools", body: []byte("name=x"), ctype: "application/x-www-form-urlencoded", token: apptest.Token})
	c.send(403, request{method: "POST", path: "/api/v1/pools", body: map[string]any{"name": "x"}, token: apptest.Token,
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	c.admin(413, "POST", "/api/v1/pools", map[string]any{"name": strings.Repeat("x", 1<<20+10)})
	c.admin(200, "GET", "/api/v1/pools", nil)
	c.admin(200, "GET", "/api/v1/pools?kind=team", nil)
	c.admin(400, "GET", "/api/v1/pools?kind=boat", nil)
	c.admin(404, "GET", "/api/v1/pools/999999", nil)
	c.admin(400, "GET", "/api/v1/pools/abc", nil)
	c.admin(200, "PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{team2, 999999}, "status": "paused", "message": "contract"})
	c.admin(200, "PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{team2}, "status": "active"})
	c.admin(422, "PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{}, "status": "active"})

	// ---- accounts and the queue --------------------------------------------
	ct, form := apptest.Multipart(map[string]string{"script": "shop"}, append(apptest.Files("acct", 1, 3),
		apptest.File{Name: "empty.session"}))
	var batch struct {
		Queued   int
		Rejected int
		Items    []struct {
			Status, Reason string
			Why            *model.Why
			WouldFit       []model.FitChange `json:"would_fit"`
		}
	}
	c.send(200, request{method: "POST", path: "/api/v1/accounts/batch", body: form, ctype: ct, token: apptest.Token}).JSON(t, &batch)
	if batch.Queued != 1 || batch.Rejected != 1 {
		t.Errorf("import: %+v, want one queued and one rejected", batch)
	}
	// A queued item has the stable English reason and the same as data.
	for _, it := range batch.Items {
		if it.Status == "queued" && (it.Reason == "" || it.Why == nil || it.Why.Considered == 0 || it.Why.Kind != model.KindServer) {
			t.Errorf("queued item: reason %q, why %+v", it.Reason, it.Why)
		}
		// And what would place it: srv-1 or srv-2 one larger (issue 14 §1).
		if it.Status == "queued" && (len(it.WouldFit) == 0 || it.WouldFit[0].Field != model.FitCapacity || it.WouldFit[0].Change != "capacity 1 → 2") {
			t.Errorf("queued item: would_fit %+v", it.WouldFit)
		}
	}
	ct, form = apptest.Multipart(nil, apptest.Files("acct", 9, 1))
	c.send(422, request{method: "POST", path: "/api/v1/accounts/batch", body: form, ctype: ct, token: apptest.Token})
	c.send(400, request{method: "POST", path: "/api/v1/accounts/batch", body: []byte("--x--"), ctype: "multipart/form-data", token: apptest.Token})
	c.send(415, request{method: "POST", path: "/api/v1/accounts/batch", body: map[string]any{}, token: apptest.Token})
	c.admin(200, "GET", "/api/v1/accounts", nil)
	c.admin(200, "GET", "/api/v1/accounts?script=shop&pool=srv-1&limit=10", nil)
	c.admin(400, "GET", "/api/v1/accounts?limit=-1", nil)
	var queue struct {
		Items []struct {
			Member, Reason string
			Why            *model.Why
			WouldFit       []model.FitChange `json:"would_fit"`
		}
	}
	c.admin(200, "GET", "/api/v1/queue", nil).JSON(t, &queue)
	c.admin(200, "GET", "/api/v1/queue?kind=server", nil)
	c.admin(400, "GET", "/api/v1/queue?kind=boat", nil)
	if len(queue.Items) != 1 {
		t.Fatalf("queue: %+v, want one entry", queue)
	}
	if e := queue.Items[0]; e.Reason == "" || e.Why == nil || e.Why.Considered == 0 {
		t.Errorf("queue entry: reason %q, why %+v", e.Reason, e.Why)
	}
	if f := queue.Items[0].WouldFit; len(f) != 3 || f[0].Pool != "srv-1" || f[0].To != "2" || f[2].Field != model.FitAddPool {
		t.Errorf("queue entry: would_fit %+v", f)
	}
	// What if srv-1 were one larger, or a pool were added: the one entry
	// would be placed; nothing changes.
	var what struct {
		Placed      int
		StillQueued int            `json:"still_queued"`
		ByPool      map[string]int `json:"by_pool"`
	}
	c.admin(200, "POST", "/api/v1/placement/simulate", map[string]any{"changes": []any{map[string]any{"pool": "srv-1", "capacity": 2}}}).JSON(t, &what)
	if what.ByPool["srv-1"] != 1 || what.StillQueued != 0 {
		t.Errorf("simulate: %+v", what)
	}
	c.admin(200, "POST", "/api/v1/placement/simulate", map[string]any{"changes": []any{
		map[string]any{"add": map[string]any{"kind": "server", "count": 2, "capacity": 5, "labels": map[string]string{}}},
		map[string]any{"pool": "srv-2", "status": "paused"}}})
	c.admin(200, "POST", "/api/v1/placement/simulate", map[string]any{"changes": []any{}})
	c.admin(422, "POST", "/api/v1/placement/simulate", map[string]any{"changes": []any{map[string]any{"pool": "nowhere", "capacity": 2}}})
	c.admin(422, "POST", "/api/v1/placement/simulate", map[string]any{"changes": []any{map[string]any{"add": map[string]any{"kind": "boat", "count": 1, "capacity": 1}}}})
	c.admin(400, "POST", "/api/v1/placement/simulate", map[string]any{"changes": "all"})
	c.admin(200, "GET", "/api/v1/queue", nil).JSON(t, &queue)
	if len(queue.Items) != 1 {
		t.Fatalf("queue after the what-ifs: %+v, want the one entry still", queue)
	}
	c.admin(204, "DELETE", "/api/v1/queue/server/"+queue.Items[0].Member, nil)
	c.admin(404, "DELETE", "/api/v1/queue/server/"+queue.Items[0].Member, nil)
	c.admin(400, "DELETE", "/api/v1/queue/boat/x", nil)

	// Pools, changed and read back with their scripts.
	c.admin(200, "PATCH", fmt.Sprintf("/api/v1/pools/%d", srv2), map[string]any{"capacity": 5, "labels": map[string]string{"region": "eu"}})
	c.admin(200, "PATCH", fmt.Sprintf("/api/v1/pools/%d", team1), map[string]any{"priority": 0, "provider": sim})
	c.admin(404, "PATCH", "/api/v1/pools/999999", map[string]any{"capacity": 5})
	c.admin(422, "PATCH", fmt.Sprintf("/api/v1/pools/%d", srv1), map[string]any{"capacity": -1})
	c.admin(400, "PATCH", fmt.Sprintf("/api/v1/pools/%d", srv1), map[string]any{"size": 3})
	// Weight and the stored strategy (issue 14 §6).
	var weighted struct{ Weight int }
	c.admin(200, "PATCH", fmt.Sprintf("/api/v1/pools/%d", srv2), map[string]any{"weight": 2}).JSON(t, &weighted)
	if weighted.Weight != 2 {
		t.Errorf("weight %d after the patch, want 2", weighted.Weight)
	}
	c.admin(422, "PATCH", fmt.Sprintf("/api/v1/pools/%d", srv2), map[string]any{"weight": 0})
	var settings struct {
		Default  string
		Settings []struct{ Kind, Group, Strategy string }
	}
	c.admin(200, "GET", "/api/v1/placement/settings", nil)
	c.admin(200, "PUT", "/api/v1/placement/settings", map[string]any{"kind": "team", "group": "vip", "strategy": "spread"}).JSON(t, &settings)
	if settings.Default != "pack" || len(settings.Settings) != 1 || settings.Settings[0].Strategy != "spread" {
		t.Errorf("placement settings %+v", settings)
	}
	c.admin(200, "PUT", "/api/v1/placement/settings", map[string]any{"kind": "team", "group": "vip", "strategy": ""})
	c.admin(422, "PUT", "/api/v1/placement/settings", map[string]any{"kind": "team", "strategy": "sideways"})
	c.admin(400, "PUT", "/api/v1/placement/settings", map[string]any{"kind": "team", "mode": "spread"})
	c.admin(200, "GET", fmt.Sprintf("/api/v1/pools/%d", srv1), nil)

	// ---- seats and moves ----------------------------------------------------
	seatOn := func(pool string) int64 {
		var seats struct{ Items []struct{ ID int64 } }
		c.admin(200, "GET", "/api/v1/seats?pool="+pool, nil).JSON(t, &seats)
		if len(seats.Items) == 0 {
			t.Fatalf("no seat on %s", pool)
		}
		return seats.Items[0].ID
	}
	s1, s2 := seatOn("srv-1"), seatOn("srv-2")
	c.admin(200, "GET", "/api/v1/seats", nil)
	c.admin(200, "GET", "/api/v1/seats?member=acct1&state=active", nil)
	c.admin(200, "GET", "/api/v1/seats?member=nobody", nil)
	c.admin(404, "GET", "/api/v1/seats?pool=nope", nil)
	// A slow pool keeps the move pending long enough to ask again (409).
	pool("slow", "server", 2, 9, map[string]any{"type": "sim", "latency_ms": 3000})
	c.admin(422, "POST", fmt.Sprintf("/api/v1/seats/%d/move", s1), map[string]any{"to": "srv-1"})
	c.admin(404, "POST", fmt.Sprintf("/api/v1/seats/%d/move", s1), map[string]any{"to": "nope"})
	c.admin(202, "POST", fmt.Sprintf("/api/v1/seats/%d/move", s1), map[string]any{"to": "slow"})
	c.admin(409, "POST", fmt.Sprintf("/api/v1/seats/%d/move", s1), nil)
	c.admin(404, "POST", "/api/v1/seats/999999/move", nil)
	c.admin(400, "POST", "/api/v1/seats/abc/move", nil)
	c.admin(202, "POST", fmt.Sprintf("/api/v1/seats/%d/release", s2), nil)
	c.admin(202, "POST", fmt.Sprintf("/api/v1/seats/%d/release", s2), nil) // a no-op, answered the same
	c.admin(404, "POST", "/api/v1/seats/999999/release", nil)
	c.admin(400, "POST", "/api/v1/seats/abc/release", nil)

	// ---- codes --------------------------------------------------------------
	var gen struct{ Codes []string }
	c.admin(201, "POST", "/api/v1/codes/batch", map[string]any{"count": 3, "max_uses": 1, "valid_for": "720h",
		"rebind_limit": 3, "prefix": "VIP", "batch": "contract", "expires_at": time.Now().Add(48 * time.Hour).Format(time.RFC3339)}).JSON(t, &gen)
	var gen0 struct{ Codes []string }
	c.admin(201, "POST", "/api/v1/codes/batch", map[string]any{"count": 1, "rebind_limit": 0}).JSON(t, &gen0)
	if len(gen.Codes) != 3 || len(gen0.Codes) != 1 {
		t.Fatalf("codes: %v %v", gen.Codes, gen0.Codes)
	}
	code, unredeemed, disabled, noRebind := gen.Codes[0], gen.Codes[1], gen.Codes[2], gen0.Codes[0]
	c.admin(422, "POST", "/api/v1/codes/batch", map[string]any{"count": 0})
	c.admin(422, "POST", "/api/v1/codes/batch", map[string]any{"count": 1, "labels": map[string]string{"group": "vip"}})
	c.admin(201, "POST", "/api/v1/codes/batch", map[string]any{"count": 1, "group": "vip", "labels": map[string]string{"region": "eu"}, "batch": "labelled"})
	c.admin(200, "GET", "/api/v1/codes?batch=labelled", nil)
	c.admin(400, "POST", "/api/v1/codes/batch", map[string]any{"count": 1, "valid_for": "soon"})
	// Idempotency-Key: the replay and the refusal of another body hold to
	// the document too.
	idem := map[string]string{"Idempotency-Key": "contract-1"}
	c.send(201, request{method: "POST", path: "/api/v1/codes/batch", body: map[string]any{"count": 1, "batch": "idem"}, token: apptest.Token, header: idem})
	c.send(201, request{method: "POST", path: "/api/v1/codes/batch", body: map[string]any{"count": 1, "batch": "idem"}, token: apptest.Token, header: idem})
	c.send(422, request{method: "POST", path: "/api/v1/codes/batch", body: map[string]any{"count": 2, "batch": "idem"}, token: apptest.Token, header: idem})
	c.admin(200, "GET", "/api/v1/codes/"+code, nil)
	c.admin(404, "GET", "/api/v1/codes/"+unknownCode, nil)
	c.admin(400, "GET", "/api/v1/codes/xyz", nil)
	c.admin(200, "PATCH", "/api/v1/codes/"+disabled, map[string]any{"status": "disabled"})
	c.admin(200, "PATCH", "/api/v1/codes/"+unredeemed, map[string]any{"status": "enabled"})
	c.admin(422, "PATCH", "/api/v1/codes/"+unredeemed, map[string]any{"status": "lost"})
	c.admin(404, "PATCH", "/api/v1/codes/"+unknownCode, map[string]any{"status": "disabled"})

	// ---- public routes -------------------------------------------------------
	pub := func(want int, path, email, code string) apptest.Response {
		t.Helper()
		return c.anon(want, "POST", path, map[string]string{"email": email, "code": code})
	}
	status := func(want int, email, code string) apptest.Response {
		t.Helper()
		return c.anon(want, "GET", "/api/v1/public/status?email="+email+"&code="+code, nil)
	}
	waitActive := func(email, code string) {
		t.Helper()
		apptest.Eventually(t, 10*time.Second, email+" active", func() bool {
			var s struct {
				State  string
				Moving bool
			}
			status(200, email, code).JSON(t, &s)
			return s.State == "active" && !s.Moving
		})
	}
	pub(200, "/api/v1/public/redeem", "u1@example.com", code)
	pub(200, "/api/v1/public/redeem", "u1@example.com", code)
	waitActive("u1@example.com", code)
	pub(200, "/api/v1/public/rebind", "u1@example.com", code)
	status(200, "u1@example.com", code)
	pub(200, "/api/v1/public/redeem", "u2@example.com", noRebind)
	waitActive("u2@example.com", noRebind)
	pub(409, "/api/v1/public/rebind", "u2@example.com", noRebind)
	// Once its seat is released the email has nothing to move (404).
	var teamSeats struct{ Items []struct{ ID int64 } }
	c.admin(200, "GET", "/api/v1/seats?email=u2@example.com&state=active", nil).JSON(t, &teamSeats)
	if len(teamSeats.Items) != 1 {
		t.Fatalf("u2's seats: %+v", teamSeats)
	}
	c.admin(202, "POST", fmt.Sprintf("/api/v1/seats/%d/release", teamSeats.Items[0].ID), nil)
	pub(404, "/api/v1/public/rebind", "u2@example.com", noRebind)
	status(200, "u2@example.com", noRebind)
	// Its one use is spent: redeeming again is refused (409).
	pub(409, "/api/v1/public/redeem", "u2@example.com", noRebind)
	// A code whose time is up answers 410.
	var short struct{ Codes []string }
	c.admin(201, "POST", "/api/v1/codes/batch", map[string]any{"count": 1, "valid_for": "1s"}).JSON(t, &short)
	pub(200, "/api/v1/public/redeem", "u4@example.com", short.Codes[0])
	time.Sleep(1100 * time.Millisecond)
	pub(410, "/api/v1/public/rebind", "u4@example.com", short.Codes[0])
	pub(403, "/api/v1/public/redeem", "u3@example.com", noRebind)
	pub(403, "/api/v1/public/redeem", "u3@example.com", unknownCode)
	pub(403, "/api/v1/public/redeem", "u3@example.com", disabled)
	pub(422, "/api/v1/public/redeem", "not-an-email", code)
	// A code never redeemed is answered like an unknown one (403).
	pub(403, "/api/v1/public/rebind", "u3@example.com", unredeemed)
	c.anon(400, "POST", "/api/v1/public/redeem", []byte(`{"email":`))
	c.anon(413, "POST", "/api/v1/public/redeem", map[string]string{"email": strings.Repeat("x", 5000)})
	c.send(415, request{method: "POST", path: "/api/v1/public/rebind", body: []byte("x"), ctype: "text/plain"})
	status(403, "u3@example.com", unredeemed)
	status(403, "u3@example.com", unknownCode)
	status(422, "not-an-email", code)

	// ---- lists of codes, moves and history; migrations and drains ---------
	c.admin(200, "GET", "/api/v1/codes", nil)
	c.admin(200, "GET", "/api/v1/codes?status=bound&batch=contract&limit=10&after=0&code="+code[len(code)-4:], nil)
	c.admin(200, "GET", "/api/v1/codes?format=csv", nil)
	c.send(200, request{method: "GET", path: "/api/v1/codes", token: apptest.Token, header: map[string]string{"Accept": "text/csv"}})
	c.admin(400, "GET", "/api/v1/codes?limit=-1", nil)
	c.admin(200, "GET", "/api/v1/moves", nil)
	c.admin(200, "GET", "/api/v1/moves?state=pending&limit=5", nil)
	c.admin(400, "GET", "/api/v1/moves?limit=x", nil)
	c.admin(200, "POST", "/api/v1/migrations", map[string]any{"from": []string{"team-1"}, "to": "team-2", "dry_run": true})
	c.admin(202, "POST", "/api/v1/migrations", map[string]any{"from": []string{"team-1"}})
	c.admin(404, "POST", "/api/v1/migrations", map[string]any{"from": []string{"nope"}})
	c.admin(422, "POST", "/api/v1/migrations", map[string]any{"from": []string{}})
	c.admin(422, "POST", "/api/v1/migrations", map[string]any{"from": []string{"team-1", "srv-1"}})
	c.admin(202, "POST", fmt.Sprintf("/api/v1/pools/%d/drain", srv2), nil)
	c.admin(404, "POST", "/api/v1/pools/999999/drain", nil)
	c.admin(200, "GET", "/api/v1/history", nil)
	c.admin(200, "GET", "/api/v1/history?member=u1@example.com&pool=team-1&action=placed&limit=5&before=0", nil)
	c.admin(400, "GET", "/api/v1/history?before=x", nil)
	c.admin(200, "GET", "/api/v1/codes/"+code, nil)

	// ---- reconcile ----------------------------------------------------------
	started := c.admin(202, "POST", fmt.Sprintf("/api/v1/pools/%d/reconcile", team2), map[string]any{"repair": true})
	var run struct{ Report string }
	started.JSON(t, &run)
	if loc := started.Header.Get("Location"); loc == "" || loc != run.Report {
		t.Errorf("reconcile: Location %q, report %q", loc, run.Report)
	}
	apptest.Eventually(t, 10*time.Second, "the reconcile run ended", func() bool {
		var r struct{ State string }
		c.admin(200, "GET", run.Report, nil).JSON(t, &r)
		return r.State == "done" || r.State == "failed"
	})
	c.admin(202, "POST", fmt.Sprintf("/api/v1/pools/%d/reconcile", team1), nil)
	c.admin(422, "POST", fmt.Sprintf("/api/v1/pools/%d/reconcile", team2), map[string]any{"max_remove_share": 2})
	c.admin(404, "POST", "/api/v1/pools/999999/reconcile", nil)
	c.admin(404, "GET", fmt.Sprintf("/api/v1/pools/%d/reconcile/999999", team2), nil)
	c.admin(400, "GET", fmt.Sprintf("/api/v1/pools/%d/reconcile/x", team2), nil)

	// ---- fleet samples: one recorded now (as the sample job does), read
	// whole, by kind and by range; bad parameters are 400.
	if _, err := c.h.App.Store.FleetSampleRecord(context.Background(), time.Now().UTC().Truncate(time.Second)); err != nil {
		t.Fatal(err)
	}
	var samples struct {
		Series []struct{ Points []struct{ Capacity int } }
	}
	c.admin(200, "GET", "/api/v1/fleet/samples", nil).JSON(t, &samples)
	if len(samples.Series) == 0 || samples.Series[0].Points[0].Capacity == 0 {
		t.Errorf("fleet samples: %+v, want the sample just recorded", samples)
	}
	c.admin(200, "GET", "/api/v1/fleet/samples?since=168h&kind=team", nil)
	c.admin(200, "GET", "/api/v1/fleet/samples?since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z", nil)
	c.admin(400, "GET", "/api/v1/fleet/samples?since=yesterday", nil)
	c.admin(400, "GET", "/api/v1/fleet/samples?since=1h&until=2h", nil)
	c.admin(400, "GET", "/api/v1/fleet/samples?kind=boat", nil)

	// ---- integrity ------------------------------------------------------------
	c.admin(200, "GET", "/api/v1/integrity", nil)
	c.admin(200, "GET", "/api/v1/integrity?grace=1ms&zombie_after=1ms", nil)
	c.admin(400, "GET", "/api/v1/integrity?grace=soon", nil)
	c.admin(200, "POST", "/api/v1/integrity/repair", map[string]any{"limit": 10, "grace": "10m"})
	c.admin(422, "POST", "/api/v1/integrity/repair", map[string]any{"limit": 0})
	c.admin(400, "POST", "/api/v1/integrity/repair", map[string]any{"limit": 1, "grace": "soon"})

	// ---- plans: plan, then apply ---------------------------------------------
	plan := c.admin(201, "POST", "/api/v1/plans", map[string]any{"action": "pools.status", "params": map[string]any{"ids": []int64{team2}, "status": "paused"}})
	planPath := fmt.Sprintf("/api/v1/plans/%d", c.id(plan))
	c.admin(200, "GET", planPath, nil)
	c.admin(200, "POST", planPath+"/apply", nil)
	c.admin(409, "POST", planPath+"/apply", nil)
	c.admin(201, "POST", "/api/v1/plans", map[string]any{"action": "integrity.repair", "params": map[string]any{"limit": 10}})
	c.admin(201, "POST", "/api/v1/plans", map[string]any{"action": "migrate", "params": map[string]any{"from": []string{"team-2"}}})
	rebalance := c.id(c.admin(201, "POST", "/api/v1/plans", map[string]any{"action": "rebalance", "params": map[string]any{"kind": "team", "max_moves": 5, "strategy": "spread", "skip_moved_within": "0s"}}))
	c.admin(200, "POST", fmt.Sprintf("/api/v1/plans/%d/apply", rebalance), nil)
	// Stopping its paced moves: the fleet here is balanced, so one
	// scheduled move is written in as the job would find it.
	c.h.App.Store.DB.Exec(`UPDATE plans SET pending = 1, result = $1 WHERE id = $2`,
		`{"done": 0, "queued": 0, "failed": 0, "scheduled": 1, "steps": [{"step": 0, "status": "scheduled"}]}`, rebalance)
	c.admin(200, "POST", fmt.Sprintf("/api/v1/plans/%d/cancel", rebalance), nil)
	c.admin(409, "POST", fmt.Sprintf("/api/v1/plans/%d/cancel", rebalance), nil)
	c.admin(404, "POST", "/api/v1/plans/999999/cancel", nil)
	c.admin(422, "POST", "/api/v1/plans", map[string]any{"action": "rebalance", "params": map[string]any{"kind": "team", "max_moves": 0}})
	stale := c.id(c.admin(201, "POST", "/api/v1/plans", map[string]any{"action": "pools.drain", "params": map[string]any{"id": team2}}))
	c.admin(200, "PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{team2}, "status": "active"})
	c.admin(409, "POST", fmt.Sprintf("/api/v1/plans/%d/apply", stale), nil)
	c.admin(422, "POST", "/api/v1/plans", map[string]any{"action": "nope"})
	c.admin(422, "POST", "/api/v1/plans", map[string]any{"action": "pools.status", "params": map[string]any{"ids": []int64{team2}, "status": "sleepy"}})
	c.admin(404, "POST", "/api/v1/plans", map[string]any{"action": "pools.drain", "params": map[string]any{"id": 999999}})
	c.admin(400, "POST", "/api/v1/plans", []byte(`{"action":`))
	c.admin(404, "GET", "/api/v1/plans/999999", nil)
	c.admin(400, "GET", "/api/v1/plans/x", nil)
	c.admin(404, "POST", "/api/v1/plans/999999/apply", nil)
	expired := c.id(c.admin(201, "POST", "/api/v1/plans", map[string]any{"action": "pools.status", "params": map[string]any{"ids": []int64{team2}, "status": "paused"}}))
	c.h.App.Store.DB.Exec(`UPDATE plans SET expires_at = 1 WHERE id = $1`, expired)
	c.admin(410, "POST", fmt.Sprintf("/api/v1/plans/%d/apply", expired), nil)

	// ---- backup: a SQLite database streams a copy; PostgreSQL has no 2xx
	// here (pg_dump backs it up), so its 501 stands for the route.
	if strings.HasPrefix(c.h.DSN, "postgres") {
		c.admin(501, "GET", "/api/v1/backup", nil)
		c.ok["GET /api/v1/backup"] = true
	} else {
		c.admin(200, "GET", "/api/v1/backup", nil)
	}

	// ---- users, sessions, tokens, audit ------------------------------------
	var users struct {
		Items []struct {
			ID   int64
			Name string
		}
	}
	c.admin(200, "GET", "/api/v1/users", nil).JSON(t, &users)
	var adminID int64
	for _, u := range users.Items {
		if u.Name == "admin" {
			adminID = u.ID
		}
	}
	if adminID == 0 {
		t.Fatalf("no user admin in %+v", users)
	}
	var created struct {
		ID       int64
		Username string
		Name     string
	}
	c.admin(201, "POST", "/api/v1/users", map[string]any{"username": "vera", "password": password, "role": "viewer"}).JSON(t, &created)
	if created.Username != "vera" || created.Name != "vera" {
		t.Errorf("created user answers username %q (deprecated name %q), want vera", created.Username, created.Name)
	}
	vera := created.ID
	// name is the deprecated alias of username: still read; given with a
	// different username it is refused.
	c.admin(201, "POST", "/api/v1/users", map[string]any{"name": "oscar", "password": password, "role": "operator"})
	c.admin(422, "POST", "/api/v1/users", map[string]any{"username": "olga", "name": "oskar", "password": password, "role": "operator"})
	c.admin(201, "POST", "/api/v1/users", map[string]any{"username": "dora", "name": "dora", "password": password, "role": "operator"})
	c.admin(409, "POST", "/api/v1/users", map[string]any{"username": "vera", "password": password, "role": "viewer"})
	c.admin(422, "POST", "/api/v1/users", map[string]any{"name": "Bad Name!", "password": password, "role": "viewer"})
	c.admin(422, "POST", "/api/v1/users", map[string]any{"name": "short", "password": "x", "role": "viewer"})
	c.admin(200, "PATCH", fmt.Sprintf("/api/v1/users/%d", vera), map[string]any{"role": "viewer", "disabled": false})
	c.admin(404, "PATCH", "/api/v1/users/999999", map[string]any{"role": "viewer"})
	c.admin(409, "PATCH", fmt.Sprintf("/api/v1/users/%d", adminID), map[string]any{"role": "viewer"})
	c.admin(422, "PATCH", fmt.Sprintf("/api/v1/users/%d", vera), map[string]any{})
	c.admin(400, "PATCH", "/api/v1/users/abc", map[string]any{"role": "viewer"})

	signIn := func(name string) *http.Cookie {
		t.Helper()
		r := c.anon(200, "POST", "/api/v1/session", map[string]string{"username": name, "password": password})
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			if ck.Value != "" {
				return ck
			}
		}
		t.Fatalf("sign-in of %s set no cookie", name)
		return nil
	}
	veraCookie := signIn("vera")
	c.anon(401, "POST", "/api/v1/session", map[string]string{"username": "vera", "password": "wrong password!"})
	c.anon(422, "POST", "/api/v1/session", map[string]string{"username": "vera"})
	c.send(200, request{method: "GET", path: "/api/v1/session", cookie: veraCookie})
	c.admin(200, "GET", "/api/v1/session", nil)
	var tok struct {
		ID    int64
		Token string
	}
	c.send(201, request{method: "POST", path: "/api/v1/tokens", body: map[string]string{"name": "contract"}, cookie: veraCookie}).JSON(t, &tok)
	c.send(422, request{method: "POST", path: "/api/v1/tokens", body: map[string]string{"name": ""}, cookie: veraCookie})
	c.admin(422, "POST", "/api/v1/tokens", map[string]string{"name": "admin has no user"})
	c.send(200, request{method: "GET", path: "/api/v1/tokens", token: tok.Token})
	c.admin(200, "GET", "/api/v1/tokens", nil)
	// A viewer reads codes without the codes themselves, and may not change.
	c.send(200, request{method: "GET", path: "/api/v1/codes", token: tok.Token})
	c.send(200, request{method: "GET", path: "/api/v1/codes/" + code, token: tok.Token})
	c.send(403, request{method: "POST", path: "/api/v1/pools", body: map[string]any{"name": "x"}, token: tok.Token})
	c.send(403, request{method: "GET", path: "/api/v1/audit", token: tok.Token})
	// An operator may change a pool, but not its provider settings.
	oscarCookie := signIn("oscar")
	c.send(200, request{method: "PATCH", path: fmt.Sprintf("/api/v1/pools/%d", team2), body: map[string]any{"priority": 3}, cookie: oscarCookie})
	c.send(403, request{method: "PATCH", path: fmt.Sprintf("/api/v1/pools/%d", team2), body: map[string]any{"provider": sim}, cookie: oscarCookie})
	c.send(204, request{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID), cookie: veraCookie})
	c.send(404, request{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID), cookie: veraCookie})
	c.send(400, request{method: "DELETE", path: "/api/v1/tokens/abc", cookie: veraCookie})
	c.send(401, request{method: "GET", path: "/api/v1/tokens", token: tok.Token})
	c.send(204, request{method: "DELETE", path: "/api/v1/session", cookie: veraCookie})
	c.send(401, request{method: "GET", path: "/api/v1/session", cookie: veraCookie})
	c.admin(204, "DELETE", "/api/v1/session", nil)
	// Deleting a user ends its sessions and stops its tokens; the last
	// enabled admin cannot be deleted.
	doraCookie := signIn("dora")
	var doraTok struct{ Token string }
	c.send(201, request{method: "POST", path: "/api/v1/tokens", body: map[string]string{"name": "doomed"}, cookie: doraCookie}).JSON(t, &doraTok)
	var me struct{ User struct{ ID int64 } }
	c.send(200, request{method: "GET", path: "/api/v1/session", token: doraTok.Token}).JSON(t, &me)
	c.send(403, request{method: "DELETE", path: fmt.Sprintf("/api/v1/users/%d", me.User.ID), token: doraTok.Token})
	c.admin(204, "DELETE", fmt.Sprintf("/api/v1/users/%d", me.User.ID), nil)
	c.send(401, request{method: "GET", path: "/api/v1/session", token: doraTok.Token})
	c.send(401, request{method: "GET", path: "/api/v1/session", cookie: doraCookie})
	c.admin(404, "DELETE", fmt.Sprintf("/api/v1/users/%d", me.User.ID), nil)
	c.admin(409, "DELETE", fmt.Sprintf("/api/v1/users/%d", adminID), nil)
	c.admin(400, "DELETE", "/api/v1/users/abc", nil)
	// Five wrong passwords for one name from one address: the fifth and
	// what follows wait (429, Retry-After).
	for range 4 {
		c.anon(401, "POST", "/api/v1/session", map[string]string{"username": "oscar", "password": "wrong password!"})
	}
	if r := c.anon(429, "POST", "/api/v1/session", map[string]string{"username": "oscar", "password": "wrong password!"}); r.Header.Get("Retry-After") == "" {
		t.Errorf("sign-in refused without Retry-After")
	}
	c.admin(200, "GET", "/api/v1/audit", nil)
	c.admin(200, "GET", "/api/v1/audit?actor=admin-token&action=pools&since=2020-01-01T00:00:00Z&limit=50", nil)
	c.admin(200, "GET", "/api/v1/audit?format=csv", nil)
	c.admin(400, "GET", "/api/v1/audit?since=yesterday", nil)

	// Past the per-address limit the public routes answer 429 with
	// Retry-After.
	c.h.App.API.SetPublicRate(0.01, 1)
	status(200, "u1@example.com", code)
	for _, r := range []apptest.Response{status(429, "u1@example.com", code),
		pub(429, "/api/v1/public/redeem", "u1@example.com", code), pub(429, "/api/v1/public/rebind", "u1@example.com", code)} {
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After: %s", r.Body)
		}
	}
}

// The checks can fail: an answer that breaks its schema, an undocumented
// status, a wrong content type and a route without an operation are all
// caught.
func TestContract_CatchesMismatches(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	r := h.DoAuth("GET", "/openapi.json", nil, "").MustStatus(t, 200)
	doc, router, err := loadDocument(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	req := func(method, path string) *http.Request {
		r, _ := http.NewRequest(method, h.App.URL+path, nil)
		return r
	}
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	cases := []struct {
		name   string
		req    *http.Request
		status int
		header http.Header
		body   string
	}{
		{"a required field missing", req("GET", "/api/v1/pools/1"), 200, jsonCT, `{"name": "p"}`},
		{"a field of the wrong type", req("GET", "/healthz"), 200, jsonCT, `{"status": 1}`},
		{"an undocumented status", req("GET", "/healthz"), 418, jsonCT, `{}`},
		{"JSON where problem+json is documented", req("GET", "/api/v1/pools/1"), 404, jsonCT,
			`{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "x"}`},
		{"a body where none is documented", req("DELETE", "/api/v1/session"), 204, http.Header{}, `{}`},
		{"a path without an operation", req("GET", "/api/v1/nowhere"), 200, jsonCT, `{}`},
	}
	for _, tc := range cases {
		if _, err := checkResponse(router, tc.req, tc.status, tc.header, []byte(tc.body)); err == nil {
			t.Errorf("%s: not caught", tc.name)
		}
	}
	if _, err := checkResponse(router, req("GET", "/healthz"), 200, jsonCT, []byte(`{"status": "ok"}`)); err != nil {
		t.Errorf("a good answer refused: %v", err)
	}
	extra := append(table(h.App.API), route{"GET", "/api/v1/nowhere"})
	if miss := missingOperations(doc, extra); len(miss) != 1 || miss[0] != "GET /api/v1/nowhere" {
		t.Errorf("missingOperations = %v, want the one undocumented route", miss)
	}
	bad, _ := http.NewRequest("POST", h.App.URL+"/api/v1/pools", strings.NewReader(`{"name": "p", "kind": "server", "capacity": "many"}`))
	bad.Header.Set("Content-Type", "application/json")
	if err := checkRequest(router, bad); err == nil {
		t.Errorf("a request body of the wrong type: not caught")
	}
	var re *openapi3filter.ResponseError
	_, err = checkResponse(router, req("GET", "/healthz"), 418, jsonCT, []byte(`{}`))
	if !errors.As(err, &re) {
		t.Errorf("undocumented status: %v, want a ResponseError", err)
	}
}
