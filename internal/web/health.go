package web

import (
	"fmt"

	"github.com/berthhq/berth/internal/health"
)

// HealthReasons words a pool's health causes (package health) in the
// page's language. Templates call it as {{$.HealthReasons .Health}}.
func (p *page) HealthReasons(r health.Report) []string { return p.L.healthReasons(r) }

// HealthScore formats a score with two decimals.
func (p *page) HealthScore(score float64) string { return fmt.Sprintf("%.2f", score) }

func (l lang) healthReasons(r health.Report) []string {
	out := make([]string, 0, len(r.Causes))
	for _, c := range r.Causes {
		switch c.Code {
		case health.CauseFailures:
			s := l.T("health.failures", c.N, c.Of)
			if c.Timeouts > 0 {
				s += l.T("health.timeouts", c.Timeouts)
			}
			out = append(out, s)
		case health.CauseLatency:
			out = append(out, l.T("health.latency", health.Seconds(c.P95), health.Seconds(c.Target)))
		default:
			out = append(out, c.String())
		}
	}
	return out
}

// healthCatalogue holds the words of pool health, merged into catalogue.
var healthCatalogue = map[string][2]string{
	"pools.health":    {"Health", "健康度"},
	"health.degraded": {"degraded: used only when no healthy pool has room", "已降级：仅在没有健康的位置有空位时使用"},
	"health.failures": {"%d of the last %d provider calls failed", "最近 %[2]d 次服务商调用中 %[1]d 次失败"},
	"health.timeouts": {" (%d timed out)", "（%d 次超时）"},
	"health.latency":  {"p95 latency %s s (target %s s)", "p95 延迟 %s 秒（目标 %s 秒）"},
	"why.health":      {"health %s, no healthy pool can take it; ", "健康度 %s，没有健康的位置可用；"},
	"why.degraded":    {"; %d down-ranked for health", "；%d 个因健康度降级"},
}

func init() { addWords(healthCatalogue) }
