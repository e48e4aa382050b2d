package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The pools page's rebalance form plans a rebalance; the plan page says
// its moves and the imbalance before and after, in both languages; the
// apply schedules the moves; a bad budget is refused in words.
func TestRebalanceFromPoolsPage(t *testing.T) {
	c := startConsole(t)
	c.unevenServers()
	op := c.signIn("oper", userPassword)

	pools := c.do(op, "GET", "/admin/servers", nil, nil)
	if !strings.Contains(pools.Body, `id="rebalance-form"`) || !strings.Contains(pools.Body, `action="/admin/servers/rebalance/plan"`) {
		t.Fatalf("pools page has no rebalance form:\n%s", pools.Body)
	}
	if r := c.do(op, "POST", "/admin/servers/rebalance/plan", url.Values{"strategy": {"spread"}, "max_moves": {"0"}}, nil); r.Status != http.StatusOK ||
		!strings.Contains(r.Body, "from 1 to 10000") {
		t.Fatalf("max_moves 0: %d", r.Status)
	}
	page := c.post(op, "/admin/servers/rebalance/plan", url.Values{"strategy": {"spread"}, "max_moves": {"10"}})
	for _, want := range []string{"rebalance", `id="plan-rebalance"`, "spread: even the load: 4 move(s); 0 member(s) moved recently stay.",
		"3 pools: 1 in use, 1 partly filled; utilization mean 20.0%, standard deviation 28.3%, range 60.0%",
		"3 pools: 3 in use, 3 partly filled; utilization mean 20.0%, standard deviation 0.0%, range 0.0%", "off srv-1 to srv-2 (paced)"} {
		if !strings.Contains(page.Body, want) {
			t.Fatalf("plan page lacks %q:\n%s", want, page.Body)
		}
	}
	plan := regexp.MustCompile(`action="(/admin/plans/\d+)/apply"`).FindStringSubmatch(page.Body)
	if plan == nil {
		t.Fatalf("no apply form:\n%s", page.Body)
	}
	zh := c.do(op, "GET", plan[1], nil, map[string]string{"Accept-Language": "zh-CN"})
	if !strings.Contains(zh.Body, "分散：均衡负载：4 次迁移") || !strings.Contains(zh.Body, "（限速）") {
		t.Fatalf("zh plan page:\n%s", zh.Body)
	}
	page = c.post(op, plan[1]+"/apply", url.Values{})
	if !strings.Contains(page.Body, "4 move(s) scheduled") || !strings.Contains(page.Body, `data-status="scheduled"`) || !strings.Contains(page.Body, `id="plan-stop"`) {
		t.Fatalf("applied:\n%s", page.Body)
	}
	// Stop: the scheduled moves are not made.
	page = c.post(op, plan[1]+"/cancel", url.Values{})
	if !strings.Contains(page.Body, "Stopped: 4 scheduled move(s) will not be made.") || !strings.Contains(page.Body, `data-status="cancelled"`) ||
		strings.Contains(page.Body, `id="plan-stop"`) {
		t.Fatalf("stopped:\n%s", page.Body)
	}
	page = c.post(op, plan[1]+"/cancel", url.Values{})
	if !strings.Contains(page.Body, "no scheduled moves left to stop") {
		t.Fatalf("stopped twice:\n%s", page.Body)
	}
}
