package web_test

import (
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/app/apptest"
)

// TestBrowserQueueWouldFit: the queue page in Chinese shows what would
// place each entry, and the what-if form answers in place (screenshots
// 40-queue-would-fit-zh.png, 41-queue-what-if-en.png).
func TestBrowserQueueWouldFit(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	c.h.Pool("srv-shanghai-1", "server", 3, 0)
	paused := c.h.Pool("srv-shanghai-2", "server", 5, 0)
	c.h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{paused}, "status": "paused"}).MustStatus(t, 200)
	c.h.Import("000新人欢迎剧本", apptest.Files("63927700", 0, 5))
	signInBrowser(t, ctx, c.URL, "admin", adminPassword)
	run(t, ctx, "queue in Chinese", chromedp.Navigate(c.URL+"/lang?to=zh-CN&next=/admin/queue"), chromedp.WaitVisible(chromedp.CSS("#queue-caption")))
	if got := text(t, ctx, "td.fit"); !strings.Contains(got, "srv-shanghai-1：容量 3 → 4") || !strings.Contains(got, "srv-shanghai-2：状态 已暂停 → 运行中") {
		t.Errorf("first would_fit %q", got)
	}
	png := get(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	save(t, "40-queue-would-fit-zh.png", png)
	_ = os.WriteFile("/tmp/wf/queue-would-fit-zh.png", png, 0o644)

	run(t, ctx, "what-if in English", chromedp.Navigate(c.URL+"/lang?to=en&next=/admin/queue"), chromedp.WaitVisible(chromedp.CSS("#sim-pool")),
		chromedp.SendKeys("#sim-pool", "srv-shanghai-2"),
		chromedp.SetValue("#sim-status", "active"),
		chromedp.Click("#sim-title + p + form button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS(".sim-result")))
	if got := text(t, ctx, ".sim-result"); !strings.Contains(got, "2 of 2 would be placed, 0 would still wait.") || !strings.Contains(got, "srv-shanghai-2: 2") {
		t.Errorf("what-if answer %q", got)
	}
	png = get(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	save(t, "41-queue-what-if-en.png", png)
	_ = os.WriteFile("/tmp/wf/queue-what-if-en.png", png, 0o644)
}
