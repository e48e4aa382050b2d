package web_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
)

// dashFleet is the dashboards' fleet: two servers of five seats in all,
// full, with a sixth account waiting, and a banned team.
func dashFleet(t *testing.T) *console {
	t.Helper()
	c := startConsole(t)
	c.h.Pool("srv-1", "server", 2, 0)
	c.h.Pool("srv-2", "server", 3, 0)
	team := c.h.Pool("team-1", "team", 10, 0)
	c.h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{team}, "status": "banned", "message": "test"}).MustStatus(t, 200)
	if items := c.h.Import("script-A", apptest.Files("acct", 0, 6)); items[5].Status != "queued" {
		t.Fatalf("sixth account: %+v", items[5]) // five seats, the sixth waits
	}
	return c
}

// The dashboard shows the fleet's summary (package fleet): the cards sum
// the pools of each kind, the unhealthy ones and the queue; the pools are
// drawn one by one.
func TestDashboardSummary(t *testing.T) {
	c := dashFleet(t)
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

// The dashboard says the capacity forecast in words: five servers placed
// within the hour and none free, so the servers are full today and need
// pools added; the banned team has no active capacity and no sentence.
// In Chinese too.
func TestDashboardForecast(t *testing.T) {
	c := dashFleet(t)
	view := c.signIn("view", userPassword)
	// 5 placed in the hour: 840 a week, less 0 free, pools of 2.5 seats.
	for hdr, want := range map[string]string{"en": "Servers: add 336 servers before %s", "zh-CN": "服务器：请在 %s 前增加 336 台服务器"} {
		before := time.Now().UTC()
		r := c.do(view, "GET", "/admin/", nil, map[string]string{"Accept-Language": hdr})
		after := time.Now().UTC()
		day := func(t time.Time) string {
			if hdr == "en" {
				return t.Format("2 Jan")
			}
			return fmt.Sprintf("%d月%d日", int(t.Month()), t.Day())
		}
		if r.Status != http.StatusOK || !(strings.Contains(r.Body, fmt.Sprintf(want, day(before))) || strings.Contains(r.Body, fmt.Sprintf(want, day(after)))) {
			t.Errorf("%s: the dashboard lacks %q:\n%s", hdr, fmt.Sprintf(want, day(before)), r.Body)
		}
		if lines := regexp.MustCompile(`(?s)<ul class="forecast-lines">(.*?)</ul>`).FindStringSubmatch(r.Body); lines == nil || strings.Count(lines[1], "<li") != 1 {
			t.Errorf("%s: want one forecast line (none for the banned team): %q", hdr, lines)
		}
	}
}
