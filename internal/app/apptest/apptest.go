// Package apptest starts a whole berth (store, workers, HTTP API) for
// end-to-end tests and speaks to it over real HTTP.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/jobs"
	"github.com/berthhq/berth/internal/provider/sim"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Token is the admin token test servers use.
const Token = "test-admin-token-0123456789"

// Harness is a running berth and a client for it.
type Harness struct {
	T   testing.TB
	App *app.App
	DSN string
	// Sims are the simulated pools of this berth's database (SimsFor).
	Sims *sim.Registry
}

// sims holds each test database's simulated pools, by DSN.
var sims sync.Map

// SimsFor is the registry of simulated pools of the database dsn: the
// replicas of one database share it, as they would share a real provider,
// and tests running side by side on other databases never see its pools
// (every test names its first team "team-1").
func SimsFor(dsn string) *sim.Registry {
	r, _ := sims.LoadOrStore(dsn, sim.NewRegistry())
	return r.(*sim.Registry)
}

// FastHash are the password hashing costs of test servers (the harness's
// default): argon2id at production's costs (auth.DefaultParams, 64 MiB)
// took 0.26 s a hash under the race detector, paid by every start for its
// first admin. A test of the stored hash itself asks for DefaultParams.
var FastHash = auth.Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// useSims gives cfg the simulated pools of its database unless the caller
// chose others.
func useSims(cfg *app.Config) *sim.Registry {
	if cfg.Jobs.Providers.Sims == nil {
		cfg.Jobs.Providers.Sims = SimsFor(cfg.DB)
	}
	return cfg.Jobs.Providers.Sims
}

// FastJobs retries quickly so tests do not wait on production backoffs.
func FastJobs() jobs.Config {
	return jobs.Config{
		// 3 delivery attempts, then a re-placement (production: 6 hours of them).
		MaxDeliveryAttempts: 3, MaxRemoveAttempts: 3, DeliveryRetryFor: time.Millisecond,
		Backoff:       func(int) time.Duration { return 20 * time.Millisecond },
		ProbeInterval: time.Hour, SweepInterval: time.Hour,
		PollInterval: 20 * time.Millisecond,
		JobTimeout:   10 * time.Second, RescueAfter: 15 * time.Second,
	}
}

// Start runs berth on a fresh database of dialect (skipping PostgreSQL when
// it is not configured), with simulated pools of its own (Harness.Sims).
func Start(t testing.TB, d store.Dialect, mutate ...func(*app.Config)) *Harness {
	t.Helper()
	return StartOn(t, storetest.DSN(t, d), mutate...)
}

// StartKeyed starts berth on dsn with its real key handling (no test
// Sealer, so the key check and key files run as in production) and returns
// the error of a start that was refused. The caller closes h.App.
func StartKeyed(t testing.TB, dsn string, mutate func(*app.Config)) (*Harness, error) {
	t.Helper()
	cfg := app.Config{DB: dsn, Listen: "127.0.0.1:0", AdminToken: Token, Jobs: FastJobs(),
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}
	cfg.Auth.Params = FastHash
	mutate(&cfg)
	reg := useSims(&cfg)
	a, err := app.Start(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	a.API.SetPublicRate(1e6, 1e6)
	return &Harness{T: t, App: a, DSN: dsn, Sims: reg}, nil
}

// StartOn runs another berth on an existing database (a second replica).
func StartOn(t testing.TB, dsn string, mutate ...func(*app.Config)) *Harness {
	t.Helper()
	// Test providers (SCIMMY, httptest receivers, sshd) listen on
	// loopback, which the default allow-list refuses.
	cfg := app.Config{DB: dsn, Listen: "127.0.0.1:0", AdminToken: Token, Sealer: storetest.Box(t), Jobs: FastJobs(), ProviderAllowedHosts: "loopback",
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	cfg.Auth.Params = FastHash
	if os.Getenv("BERTH_TEST_VERBOSE") != "" {
		cfg.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, m := range mutate {
		m(&cfg)
	}
	reg := useSims(&cfg)
	a, err := app.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	// Tests poll the public routes from one address; the per-address limit
	// has its own test.
	a.API.SetPublicRate(1e6, 1e6)
	return &Harness{T: t, App: a, DSN: cfg.DB, Sims: reg}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Response is a decoded reply.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do sends a request with the admin token; body is JSON-encoded unless it
// is a []byte or io.Reader.
func (h *Harness) Do(method, path string, body any) Response {
	return h.DoAuth(method, path, body, Token)
}

// DoAuth sends a request with the given bearer token ("" = none).
func (h *Harness) DoAuth(method, path string, body any, token string) Response {
	h.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.App.URL+path, rd)
	if err != nil {
		h.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.send(req)
}

// MustOK fails unless the response has status want.
func (r Response) MustStatus(t testing.TB, want int) Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// Pool creates a simulated pool and returns its id.
func (h *Harness) Pool(name, kind string, capacity, priority int) int64 {
	h.T.Helper()
	var p struct{ ID int64 }
	h.Do("POST", "/api/v1/pools", map[string]any{"name": name, "kind": kind, "capacity": capacity, "priority": priority,
		"provider": map[string]any{"type": "sim"}}).MustStatus(h.T, 201).JSON(h.T, &p)
	return p.ID
}

// File is one part of a batch upload.
type File struct {
	Name string
	Data []byte
}

// Files makes n session files named prefix+i.session.
func Files(prefix string, from, n int) []File {
	out := make([]File, n)
	for i := range out {
		id := fmt.Sprintf("%s%d", prefix, from+i)
		out[i] = File{Name: id + ".session", Data: []byte("SQLite format 3\x00 session of " + id)}
	}
	return out
}

// Multipart builds a batch upload body.
func Multipart(fields map[string]string, files []File) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range files {
		hdr := textproto.MIMEHeader{}
		// Written by hand: CreateFormFile would escape, not keep, odd names.
		hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename="%s"`, f.Name))
		hdr.Set("Content-Type", "application/octet-stream")
		w, _ := mw.CreatePart(hdr)
		w.Write(f.Data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// BatchItem mirrors api.BatchItem.
type BatchItem struct {
	Account, File, Status, Pool, Reason, Error string
	Position                                   int
}

// Import uploads files for script and returns the per-file items.
func (h *Harness) Import(script string, files []File) []BatchItem {
	h.T.Helper()
	r := h.ImportRaw(map[string]string{"script": script}, files)
	r.MustStatus(h.T, 200)
	var out struct{ Items []BatchItem }
	r.JSON(h.T, &out)
	if len(out.Items) != len(files) {
		h.T.Fatalf("%d items for %d files", len(out.Items), len(files))
	}
	return out.Items
}

// ImportRaw uploads a batch and returns the raw response.
func (h *Harness) ImportRaw(fields map[string]string, files []File) Response {
	h.T.Helper()
	ct, body := Multipart(fields, files)
	req, _ := http.NewRequest("POST", h.App.URL+"/api/v1/accounts/batch", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+Token)
	return h.send(req)
}

// Eventually polls cond until it holds or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *Harness) send(req *http.Request) Response {
	h.T.Helper()
	return Send(h.T, req)
}

// Send sends req as it is (headers, cookies and body its caller's) and
// reads the whole reply, failing t when it cannot be sent.
func Send(t testing.TB, req *http.Request) Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}
