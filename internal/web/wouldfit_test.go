package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
)

var fitCell = regexp.MustCompile(`(?s)<td class="fit">(.*?)</td>`)

// The queue page says, per entry and in the reader's language, what would
// place it now, and answers a what-if without changing anything (issue 14
// §1).
func TestQueueWouldFitAndWhatIf(t *testing.T) {
	c := startConsole(t)
	c.h.Pool("srv-1", "server", 1, 0)
	paused := c.h.Pool("srv-2", "server", 2, 0)
	c.h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{paused}, "status": "paused"}).MustStatus(t, 200)
	items := c.h.Import("script-A", apptest.Files("acct", 0, 3))
	if items[1].Status != "queued" || items[2].Status != "queued" {
		t.Fatalf("import: %+v", items)
	}
	viewer := c.signIn("view", userPassword)
	page := func(lng, path string) string {
		t.Helper()
		return c.pageIn(viewer, lng, path)
	}
	cells := func(body string) string { return cellsOf(fitCell, body) }
	zh := cells(page("zh-CN", "/admin/queue"))
	for _, want := range []string{"srv-1：容量 1 → 2", "srv-2：状态 已暂停 → 运行中", "新增一台服务器"} {
		if !strings.Contains(zh, want) {
			t.Errorf("queue in Chinese: would_fit %q lacks %q", zh, want)
		}
	}
	for _, w := range []string{"capacity", "status", "paused", "add a"} {
		if strings.Contains(zh, w) {
			t.Errorf("queue in Chinese shows %q: %q", w, zh)
		}
	}
	en := cells(page("en", "/admin/queue"))
	for _, want := range []string{"srv-1: capacity 1 → 2", "srv-2: status paused → active", "add a server"} {
		if !strings.Contains(en, want) {
			t.Errorf("queue in English: would_fit %q lacks %q", en, want)
		}
	}

	// What if srv-2 were active: both would be placed; then nothing changed.
	q := url.Values{"sim": {"1"}, "sim_pool": {"srv-2"}, "sim_status": {"active"}}
	body := page("en", "/admin/queue?"+q.Encode())
	if !strings.Contains(body, "2 of 2 would be placed, 0 would still wait.") || !strings.Contains(body, "<li>srv-2: 2</li>") {
		t.Errorf("what-if in English: %s", body[strings.Index(body, `id="sim-title"`):])
	}
	body = page("zh-CN", "/admin/queue?"+url.Values{"sim": {"1"}, "sim_count": {"1"}, "sim_cap": {"1"}, "sim_kind": {"server"}}.Encode())
	if !strings.Contains(body, "2 个排队中有 1 个会被分配，1 个仍需等待。") || !strings.Contains(body, "new-server-1: 1") {
		t.Errorf("what-if in Chinese: %s", body[strings.Index(body, `id="sim-title"`):])
	}
	body = page("zh-CN", "/admin/queue?"+url.Values{"sim": {"1"}, "sim_pool": {"nowhere"}, "sim_capacity": {"3"}}.Encode())
	if !strings.Contains(body, "没有名为 &#34;nowhere&#34; 的位置。") {
		t.Errorf("what-if of an unknown pool in Chinese: %s", body[strings.Index(body, `id="sim-title"`):])
	}
	if after := cells(page("zh-CN", "/admin/queue")); after != zh {
		t.Errorf("the what-if changed the queue: %q, was %q", after, zh)
	}
}
