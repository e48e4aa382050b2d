package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/health"
)

// The servers page shows each pool's health score and, for a degraded
// pool, that it is down-ranked and why, in the reader's language.
func TestPoolsPageHealth(t *testing.T) {
	c := startConsole(t)
	sick := c.h.Pool("srv-sick", "server", 5, 0)
	c.h.Pool("srv-fine", "server", 5, 1)
	now := time.Now()
	for range 2 {
		c.h.App.Alloc.RecordOutcome(sick, health.Outcome{At: now, Failed: true, Latency: time.Second})
	}
	op := c.signIn("oper", userPassword)
	for lng, want := range map[string][]string{
		"en":    {">Health<", `data-health="0.60"`, `data-health="1.00"`, "2 of the last 2 provider calls failed", "degraded: used only when no healthy pool has room"},
		"zh-CN": {">健康度<", `data-health="0.60"`, "最近 2 次服务商调用中 2 次失败", "已降级"},
	} {
		body := c.pageIn(op, lng, "/admin/servers")
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s servers page lacks %q", lng, w)
			}
		}
		if lng == "zh-CN" && strings.Contains(body, "provider calls failed") {
			t.Errorf("the Chinese page shows the English reason")
		}
	}
}
