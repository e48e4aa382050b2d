package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The "test connection" page reloads itself while the check runs (a
// script reload every few seconds, and the layout's refresh without
// scripts), and stops once the answer is there.
func TestPoolCheckRefreshes(t *testing.T) {
	c := startConsole(t)
	oper := c.signIn("oper", userPassword)
	// Every call of this pool takes 1.5 s: the check is still running when
	// its page is first shown.
	var p struct{ ID int64 }
	c.h.Do("POST", "/api/v1/pools", map[string]any{"name": "srv-slow", "kind": "server", "capacity": 1,
		"provider": map[string]any{"type": "sim", "latency_ms": 1500}}).MustStatus(t, 201).JSON(t, &p)
	path := "/admin/servers/" + strconv.FormatInt(p.ID, 10) + "/check"
	r := c.do(oper, "POST", path, url.Values{}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST %s: %d", path, r.Status)
	}
	page := c.do(oper, "GET", r.Location, nil, nil)
	for _, want := range []string{"Checking…", `data-reload-every="2"`, `http-equiv="refresh" content="2"`} {
		if page.Status != http.StatusOK || !strings.Contains(page.Body, want) {
			t.Fatalf("pending check page %d lacks %q:\n%s", page.Status, want, page.Body)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Contains(page.Body, "Checking…") {
		if time.Now().After(deadline) {
			t.Fatal("check still pending")
		}
		time.Sleep(100 * time.Millisecond)
		page = c.do(oper, "GET", r.Location, nil, nil)
	}
	if !strings.Contains(page.Body, "OK: the provider answered.") || strings.Contains(page.Body, "data-reload-every") || strings.Contains(page.Body, `http-equiv="refresh"`) {
		t.Fatalf("answered check page still reloads:\n%s", page.Body)
	}
}
