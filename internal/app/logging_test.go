package app_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/syncbuf"
)

// logLine returns the first line of logs matching re, or "".
func logLine(logs *syncbuf.Buffer, re *regexp.Regexp) string {
	for _, ln := range strings.Split(logs.String(), "\n") {
		if re.MatchString(ln) {
			return ln
		}
	}
	return ""
}

// A line logged deep inside a request names the request's id (the one the
// client sent), and a line logged while working a job names the job.
func TestLogLinesNameTheirRequestOrJob(t *testing.T) {
	var logs syncbuf.Buffer
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	var p struct{ ID int64 }
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "flaky", "kind": "server", "capacity": 5,
		"provider": map[string]any{"type": "sim", "fail_rate": 1}}).MustStatus(t, 201).JSON(t, &p)

	// A request: banning the pool logs an ALERT from inside alloc.
	req, err := http.NewRequest("PATCH", h.App.URL+"/api/v1/pools/status",
		strings.NewReader(fmt.Sprintf(`{"ids":[%d],"status":"banned","message":"test"}`, p.ID)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "trace-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-Id") != "trace-42" {
		t.Fatalf("status %d, X-Request-Id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	if ln := logLine(&logs, regexp.MustCompile(`ALERT pool unhealthy`)); !strings.Contains(ln, "request_id=trace-42") {
		t.Errorf("the alert line does not name the request: %q", ln)
	}

	// A job: a delivery to a pool that always fails logs from the worker.
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{p.ID}, "status": "active", "message": "back"}).MustStatus(t, 200)
	h.Import("S", apptest.Files("acc", 0, 1))
	re := regexp.MustCompile(`delivery failed.*request_id=job-deliver-\d+`)
	apptest.Eventually(t, 20*time.Second, "a delivery-failed line naming its job", func() bool { return logLine(&logs, re) != "" })
}

// With a JSON logger every line berth writes is one JSON object with a
// level and a message: the access log, a 500's "request failed", River's
// own lines about a failing job, berth's warnings. Nothing goes around it
// through slog.Default or the log package. The access log names routes by
// pattern, so a redeem's code and email never reach it.
func TestJSONLogsAndAccessLog(t *testing.T) {
	// Not parallel: it swaps slog.Default (which also takes the log
	// package's output) for one that records what reaches it.
	var stray syncbuf.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&stray, nil)))
	defer slog.SetDefault(old)

	var logs syncbuf.Buffer
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		c.AccessLog = true
	})
	h.Pool("t1", "team", 5, 0)
	var gen struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 2}).MustStatus(t, 201).JSON(t, &gen)
	code, email := gen.Codes[0], "secret.person@example.com"
	redeem := h.Do("POST", "/api/v1/public/redeem", map[string]string{"email": email, "code": code}).MustStatus(t, 200)
	h.Do("GET", "/api/v1/public/status?email="+strings.Replace(email, "@", "%40", 1)+"&code="+code, nil)
	h.Do("GET", "/api/v1/codes/"+code, nil).MustStatus(t, 200)
	h.Do("GET", "/redeem?code="+code, nil)
	h.Do("GET", "/no-such/"+code, nil).MustStatus(t, 404)

	// A 500: the table behind /api/v1/moves is gone.
	if _, err := h.App.Store.DB.Exec(`DROP TABLE moves`); err != nil {
		t.Fatal(err)
	}
	failed := h.Do("GET", "/api/v1/moves", nil).MustStatus(t, 500)

	// River: a delivery to a pool that always fails makes River log the
	// job's error; berth warns about the delivery.
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "flaky", "kind": "server", "capacity": 5,
		"provider": map[string]any{"type": "sim", "fail_rate": 1}}).MustStatus(t, 201)
	h.Import("S", apptest.Files("acc", 0, 1))

	type line struct {
		Level, Msg, Method, Path, Client string
		Status                           int
		Bytes                            int64
		RequestID                        string `json:"request_id"`
		raw                              string
	}
	parse := func() []line {
		var out []line
		for _, s := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var l line
			if err := json.Unmarshal([]byte(s), &l); err != nil || l.Level == "" || l.Msg == "" {
				t.Fatalf("not a JSON line with level and msg (%v): %q", err, s)
			}
			l.raw = s
			out = append(out, l)
		}
		return out
	}
	find := func(ls []line, ok func(line) bool) *line {
		for i := range ls {
			if ok(ls[i]) {
				return &ls[i]
			}
		}
		return nil
	}
	// River's own line: "jobexecutor.JobExecutor: Job errored; retrying",
	// a warning (River logs it at info since v0.33: jobs.quiet raises it).
	river := func(l line) bool {
		return strings.HasPrefix(l.Msg, "jobexecutor") && strings.HasSuffix(l.Msg, "Job errored; retrying") &&
			strings.Contains(l.raw, `"job_kind"`) && l.Level == "WARN"
	}
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	apptest.Eventually(t, 20*time.Second, "River's line about the failing job", func() bool { return find(parse(), river) != nil })

	ls := parse()
	access := func(method, path string) *line {
		return find(ls, func(l line) bool { return l.Msg == "http request" && l.Method == method && l.Path == path })
	}
	if a := access("POST", "POST /api/v1/public/redeem"); a == nil || a.Status != 200 || a.Bytes == 0 || a.Client != "127.0.0.1" ||
		a.RequestID == "" || a.RequestID != redeem.Header.Get("X-Request-Id") || a.Level != "INFO" {
		t.Errorf("access line of the redeem: %+v", a)
	}
	for _, p := range [][2]string{{"GET", "GET /api/v1/public/status"}, {"GET", "GET /api/v1/codes/{code}"}, {"GET", "GET /redeem"}, {"GET", "/"}} {
		if access(p[0], p[1]) == nil {
			t.Errorf("no access line for %s %s", p[0], p[1])
		}
	}
	if a := access("GET", "GET /api/v1/moves"); a == nil || a.Status != 500 {
		t.Errorf("access line of the 500: %+v", a)
	}
	if l := find(ls, func(l line) bool { return l.Msg == "request failed" }); l == nil || l.Level != "ERROR" ||
		l.RequestID != failed.Header.Get("X-Request-Id") || l.Path != "GET /api/v1/moves" {
		t.Errorf("the 500's line: %+v", l)
	}
	if find(ls, func(l line) bool { return l.Level == "WARN" }) == nil {
		t.Error("no warning logged")
	}
	for _, l := range ls {
		if l.Msg == "http request" && (strings.Contains(l.raw, code) || strings.Contains(l.raw, "secret.person")) {
			t.Errorf("the access log holds the code or the email: %s", l.raw)
		}
	}
	if s := stray.String(); s != "" {
		t.Errorf("lines logged around the configured logger:\n%s", s)
	}
}
