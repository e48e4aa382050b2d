package web_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// shotTmp saves the whole page as /tmp/name.
func shotTmp(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile("/tmp/"+name, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: /tmp/%s", name)
}

// TestBrowserMigration: on the servers page an operator ticks two servers
// and clicks "Migrate selected…", reads the plan, starts it, and watches
// the progress page's script bring the counts (one move refused by the
// target, two moved, one waiting) until a server with room lets the last
// one move and the page says it is done.
func TestBrowserMigration(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	a, b := migrationSetup(t, c)
	signInBrowser(t, ctx, c.URL, "oper", userPassword)
	run(t, ctx, "select two servers and ask for the plan", chromedp.Navigate(c.URL+"/admin/servers"), chromedp.WaitVisible(chromedp.CSS("#pools-form")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#pool-%d", a))), chromedp.Click(chromedp.CSS(fmt.Sprintf("#pool-%d", b))),
		chromedp.Click(chromedp.CSS("#migrate-open")), chromedp.WaitVisible(chromedp.CSS("#migrate-plan")))
	if s := text(t, ctx, "#plan-summary"); s != "4 members: 2 would move now, 2 would wait for room." {
		t.Fatalf("plan summary %q", s)
	}
	shotTmp(t, ctx, "migrate-plan.png")
	run(t, ctx, "start the migration",
		chromedp.Evaluate[chromedp.Void](`window.confirm = function () { return true; }`),
		chromedp.Click(chromedp.CSS("#migrate-start")), chromedp.WaitVisible(chromedp.CSS("[data-drain-progress]")))
	if s := text(t, ctx, ".flash.ok"); !strings.Contains(s, "Migration of 2 pools started") {
		t.Fatalf("flash %q", s)
	}
	// The script, not a reload, brings the counts: the flash stays.
	until(t, ctx, "two moved, one failed, one waiting", `document.querySelector('tfoot [data-drain-field="moved"]').textContent === "2" && `+
		`document.querySelector('tfoot [data-drain-field="failed"]').textContent === "1" && `+
		`document.querySelector('tfoot [data-drain-field="waiting"]').textContent === "1" && `+
		`document.querySelector('tfoot [data-drain-field="in_progress"]').textContent === "0" && document.querySelector(".flash.ok") !== null`)
	if s := text(t, ctx, `.cards [data-drain-field="failed"]`); s != "1" {
		t.Fatalf("failed card %q", s)
	}
	shotTmp(t, ctx, "migrate-progress.png")
	c.h.Pool("dst-2", "server", 1, 0)
	until(t, ctx, "the migration to finish", `document.querySelector("[data-drain-state]").textContent === "Nothing is left to move." && `+
		`document.querySelector('tfoot [data-drain-field="moved"]').textContent === "3" && `+
		`document.querySelector('tfoot [data-drain-field="remaining"]').textContent === "1"`)
	shotTmp(t, ctx, "migrate-done.png")
	run(t, ctx, "in Chinese", chromedp.Click(chromedp.CSS(".lang-switch")))
	until(t, ctx, "the page in Chinese", `document.readyState === "complete" && document.documentElement.lang === "zh-CN" && `+
		`document.querySelector("[data-drain-state]").textContent === "已没有待迁移的成员。"`)
	shotTmp(t, ctx, "migrate-done-zh.png")
}
