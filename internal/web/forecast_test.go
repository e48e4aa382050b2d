package web

import (
	"testing"
	"time"

	"github.com/berthhq/berth/internal/fleet"
	"github.com/berthhq/berth/internal/model"
)

// The forecast's sentence in both languages, with fixed numbers: a group
// full within the horizon is told how many pools to add and before which
// day; one that lasts past it is told for how many days; one where
// nothing is placed is told the capacity is enough; one without active
// capacity says nothing.
func TestForecastSentence(t *testing.T) {
	now := time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	cases := []struct {
		f      fleet.Forecast
		en, zh string
		warn   bool
	}{
		{fleet.Forecast{Kind: model.KindServer, Capacity: 30, Free: 4, FullIn: 8 * 24 * time.Hour / 2, PoolsNeeded: 3}, // 4 days
			"Servers: add 3 servers before 8 Dec", "服务器：请在 12月8日 前增加 3 台服务器", true},
		{fleet.Forecast{Kind: model.KindTeam, Group: "vip", Capacity: 10, FullIn: 0, PoolsNeeded: 1},
			"Teams, group vip: add 1 team before 4 Dec", "团队（vip 组）：请在 12月4日 前增加 1 个团队", true},
		{fleet.Forecast{Kind: model.KindTeam, Capacity: 10, Free: 9, FullIn: 2 * week, PoolsNeeded: 0},
			"Teams: capacity is enough for 14 days", "团队：容量还够用 14 天", false},
		{fleet.Forecast{Kind: model.KindServer, Group: "eu", Capacity: 10, Free: 9, Never: true},
			"Servers, group eu: nothing is being placed; capacity is enough", "服务器（eu 组）：目前没有新的分配，容量充足", false},
		// Full within the horizon though the pools needed round to none:
		// still at least one.
		{fleet.Forecast{Kind: model.KindServer, Capacity: 10, Free: 1, FullIn: week, PoolsNeeded: 0},
			"Servers: add 1 server before 11 Dec", "服务器：请在 12月11日 前增加 1 台服务器", true},
	}
	for _, c := range cases {
		for l, want := range map[lang]string{en: c.en, zh: c.zh} {
			got, ok := forecastSentence(l, c.f, now, week)
			if !ok || got.Text != want || got.Warn != c.warn {
				t.Errorf("%s %+v: %q warn=%v ok=%v, want %q warn=%v", l, c.f, got.Text, got.Warn, ok, want, c.warn)
			}
		}
	}
	if _, ok := forecastSentence(en, fleet.Forecast{Kind: model.KindTeam}, now, week); ok {
		t.Error("a group without active capacity has a sentence")
	}
	if got := forecastLines(zh, []fleet.Forecast{{Kind: model.KindTeam}, cases[2].f}, now); len(got) != 1 || got[0].Text != cases[2].zh {
		t.Errorf("lines %+v", got)
	}
}
