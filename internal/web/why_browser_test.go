package web_test

import (
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/app/apptest"
)

// TestBrowserQueueWhyChinese: the queue page in Chinese tells each queued
// member's reason in Chinese (screenshot 19-queue-why-zh.png).
func TestBrowserQueueWhyChinese(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	c.h.Pool("srv-shanghai-1", "server", 3, 0)
	paused := c.h.Pool("srv-shanghai-2", "server", 5, 0)
	off := c.h.Pool("srv-beijing-1", "server", 5, 0)
	c.h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{paused}, "status": "paused"}).MustStatus(t, 200)
	c.h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{off}, "status": "offline", "message": "host unreachable"}).MustStatus(t, 200)
	c.h.Import("000新人欢迎剧本", apptest.Files("63927700", 0, 6))
	signInBrowser(t, ctx, c.URL, "admin", adminPassword)
	run(t, ctx, "queue in Chinese", chromedp.Navigate(c.URL+"/lang?to=zh-CN&next=/admin/queue"), chromedp.WaitVisible(chromedp.CSS("#queue-caption")))
	got := text(t, ctx, "td.reason")
	if got != "共 3 台服务器：1 台已暂停，1 台离线，1 台已满" {
		t.Errorf("first reason %q", got)
	}
	for _, w := range []string{"paused", "offline", "full", "pools"} {
		if body := text(t, ctx, "table.data"); strings.Contains(body, w) {
			t.Errorf("the Chinese queue shows %q", w)
		}
	}
	png := get(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	save(t, "19-queue-why-zh.png", png)
	if err := os.WriteFile("/tmp/why-queue-zh.png", png, 0o644); err != nil {
		t.Log(err)
	}
}
