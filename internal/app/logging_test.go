package app_test

import (
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
