package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/health"
)

// The servers page in a browser: the degraded pool's health cell stands
// out, with its reasons; the healthy one reads 1.00. The screenshot goes to
// the system's temporary directory.
func TestBrowserPoolsHealth(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	sick := c.h.Pool("srv-sick", "server", 5, 0)
	c.h.Pool("srv-fine", "server", 5, 1)
	now := time.Now()
	for i := range 10 {
		o := health.Outcome{At: now, Latency: 5 * time.Second}
		if i%2 == 0 {
			o.Failed = true
		}
		c.h.App.Alloc.RecordOutcome(sick, o)
	}
	signInBrowser(t, ctx, c.URL, "oper", userPassword)
	run(t, ctx, "servers page", chromedp.Navigate(c.URL+"/admin/servers"), chromedp.WaitVisible(chromedp.CSS("td.health.degraded")))
	if s, want := text(t, ctx, "td.health.degraded .badge"), fmt.Sprintf("%.2f", c.h.App.Alloc.PoolHealth(sick).Score); s != want {
		t.Errorf("degraded score %q, want %q", s, want)
	}
	if s := text(t, ctx, "td.health.degraded"); !strings.Contains(s, "5 of the last 10 provider calls failed") || !strings.Contains(s, "p95 latency 5 s (target 2 s)") {
		t.Errorf("degraded cell %q", s)
	}
	png := get(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	p := filepath.Join(os.TempDir(), "berth-pools-health.png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
