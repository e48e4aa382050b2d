package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
)

// The dashboard shows the fleet's summary (package fleet): the cards sum
// the pools of each kind, the unhealthy ones and the queue; the pools are
// drawn one by one.
func TestDashboardSummary(t *testing.T) {
	c := startConsole(t)
	c.h.Pool("srv-1", "server", 2, 0)
	c.h.Pool("srv-2", "server", 3, 0)
	team := c.h.Pool("team-1", "team", 10, 0)
	c.h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{team}, "status": "banned", "message": "test"}).MustStatus(t, 200)
	if items := c.h.Import("script-A", apptest.Files("acct", 0, 6)); items[5].Status != "queued" {
		t.Fatalf("sixth account: %+v", items[5]) // five seats, the sixth waits
	}
	r := c.do(c.signIn("view", userPassword), "GET", "/admin/", nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("dashboard: %d", r.Status)
	}
	for _, want := range []string{
		`<p class="big">5 / 5</p>`,  // servers: 5 seats of 5
		`<p class="big">0 / 10</p>`, // teams
		`<a href="/admin/queue">1</a>`,
		"2 pools", "1 pools", "1 unhealthy",
		`href="/admin/seats?pool=srv-1"`, `href="/admin/seats?pool=srv-2"`, `href="/admin/seats?pool=team-1"`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
}
