package web

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/health"
	"github.com/berthhq/berth/internal/model"
)

// A pool's health reasons and a placement into a degraded pool are told in
// the reader's language.
func TestHealthWords(t *testing.T) {
	r := health.Report{Score: 0.42, Degraded: true, Causes: []health.Cause{
		{Code: health.CauseFailures, N: 3, Of: 10, Timeouts: 1},
		{Code: health.CauseLatency, P95: 4.2, Target: 2},
	}}
	for l, want := range map[lang]string{
		en: "3 of the last 10 provider calls failed (1 timed out) | p95 latency 4.2 s (target 2 s)",
		zh: "最近 10 次服务商调用中 3 次失败（1 次超时） | p95 延迟 4.2 秒（目标 2 秒）",
	} {
		if got := strings.Join(l.healthReasons(r), " | "); got != want {
			t.Errorf("%s reasons:\n got %q\nwant %q", l, got, want)
		}
	}
	w := &model.Why{Kind: model.KindServer, Considered: 2, Filtered: map[string]int{"full": 1}, Pool: "sick", Used: 1, Capacity: 5,
		Rule: model.RuleMostFree, Degraded: 1, Health: 0.3}
	for l, want := range map[lang]string{
		en: "sick (1/5 used; health 0.30, no healthy pool can take it; most free room) — 2 servers: 1 full; 1 down-ranked for health",
		zh: "sick（已用 1/5；健康度 0.30，没有健康的位置可用；空位最多） — 共 2 台服务器：1 台已满；1 个因健康度降级",
	} {
		if got := l.Why(w, ""); got != want {
			t.Errorf("%s why:\n got %q\nwant %q", l, got, want)
		}
	}
}
