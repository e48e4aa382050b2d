package web

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/fleet"
	"github.com/berthhq/berth/internal/model"
)

// chartHistory is a day of 5-minute samples of servers (group gpu) filling
// from 0 to 9 of 10 seats, with an hour missing (berth was down), and
// teams with one sample only; the team queue grows to 12.
func chartHistory(until time.Time) fleet.History {
	since := until.Add(-24 * time.Hour)
	h := fleet.History{Since: since, Until: until, Step: fleet.Step(24 * time.Hour)}
	srv := fleet.Series{Kind: model.KindServer, Group: "gpu"}
	for i := 0; i < 288; i++ {
		at := since.Add(time.Duration(i) * 5 * time.Minute)
		if i >= 100 && i < 112 { // an hour without samples
			continue
		}
		srv.Points = append(srv.Points, fleet.Point{At: at, Pools: 2, Capacity: 10, Used: i * 10 / 288})
	}
	team := fleet.Series{Kind: model.KindTeam, Points: []fleet.Point{{At: until.Add(-time.Hour), Pools: 1, Capacity: 4, Used: 1, Queued: 12}}}
	h.Series = []fleet.Series{srv, team}
	return h
}

// The charts are inline SVG drawn on the server: a titled, described image
// per chart, a line per kind and group (broken where samples are missing,
// a lone sample as a dot), axis labels, a legend in words, and the range
// selector; in both languages.
func TestChartsRender(t *testing.T) {
	until := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	h := chartHistory(until)
	out, err := renderCharts(en, h, chartRanges[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		`<svg viewBox="0 0 720 240" role="img" aria-labelledby="chart-util-t chart-util-d"`,
		`<title id="chart-util-t">Seats used, by kind and group</title>`,
		`<title id="chart-queue-t">Members waiting in the queue</title>`,
		`Servers, group gpu: 90% used now (9 of 10 seats), peak 90%`,
		`Teams: 25% used now (1 of 4 seats), peak 25%`,
		`Teams: 12 waiting now, peak 12`,
		`>Time (UTC)</text>`, `>Used, % of capacity</text>`, `>100%</text>`, `>06:00</text>`, `>4 Dec</text>`,
		`<a href="?range=24h#h-charts" aria-current="page">24 hours</a>`, `<a href="?range=7d#h-charts">7 days</a>`,
		`stroke-dasharray="7 4"`, // teams dashed
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the charts lack %q", want)
		}
	}
	// The servers' line: two runs (the missing hour is not bridged), from
	// the left edge of the plot to the right.
	util := s[strings.Index(s, `id="chart-util"`):strings.Index(s, `id="chart-queue"`)]
	paths := regexp.MustCompile(`<path d="([^"]+)"`).FindAllStringSubmatch(util, -1)
	if len(paths) != 1 {
		t.Fatalf("want one path (servers) in the utilization chart: %d", len(paths))
	}
	if runs := strings.Count(paths[0][1], "M"); runs != 2 {
		t.Errorf("servers drawn in %d runs, want 2 (a gap for the missing hour)", runs)
	}
	if !strings.HasPrefix(paths[0][1], fmt.Sprintf("M%g %g ", plotL, plotB)) {
		t.Errorf("servers start at %q, want the bottom left corner", paths[0][1][:20])
	}
	if n := strings.Count(paths[0][1], "L") + 2; n != 288-12 {
		t.Errorf("servers have %d points, want %d", n, 288-12)
	}
	if !strings.Contains(util, `<circle cx="`) { // the team's lone sample
		t.Error("the lone team sample is not drawn as a dot")
	}
	// Labels are escaped like any text.
	h.Series[0].Group = `<b>&`
	out, _ = renderCharts(en, h, chartRanges[0], nil)
	if strings.Contains(string(out), "<b>&") || !strings.Contains(string(out), "group &lt;b&gt;&amp;") {
		t.Error("a group label is not escaped")
	}

	zhOut, err := renderCharts(zh, chartHistory(until), chartRanges[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"座位使用率（按类型和分组）", "服务器（gpu 组）：当前已用 90%（9 / 10 个座位），峰值 90%", "团队：当前排队 12，峰值 12",
		`<a href="?range=7d#h-charts" aria-current="page">7 天</a>`, "时间（UTC）"} {
		if !strings.Contains(string(zhOut), want) {
			t.Errorf("zh: the charts lack %q", want)
		}
	}
}

// No samples yet: the section says so instead of drawing empty axes; a
// failed read says that.
func TestChartsEmptyAndFailed(t *testing.T) {
	out, err := renderCharts(en, fleet.History{}, chartRanges[2], nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); !strings.Contains(s, `id="charts-empty"`) || strings.Contains(s, "<svg viewBox") ||
		!strings.Contains(s, `aria-current="page">30 days`) {
		t.Errorf("empty state:\n%s", s)
	}
	out, _ = renderCharts(zh, fleet.History{}, chartRanges[0], errors.New("db down"))
	if !strings.Contains(string(out), "无法读取图表数据") {
		t.Errorf("failure:\n%s", out)
	}
}

// Past eight groups, the eight with the most capacity are drawn and the
// others counted.
func TestChartsManyGroups(t *testing.T) {
	until := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	h := fleet.History{Since: until.Add(-time.Hour), Until: until, Step: time.Minute}
	for i := range 11 {
		h.Series = append(h.Series, fleet.Series{Kind: model.KindServer, Group: fmt.Sprintf("g%02d", i),
			Points: []fleet.Point{{At: until.Add(-30 * time.Minute), Capacity: 100 + i, Used: 1}, {At: until.Add(-25 * time.Minute), Capacity: 100 + i, Used: 2}}})
	}
	out, _ := renderCharts(en, h, chartRanges[0], nil)
	s := string(out)
	if !strings.Contains(s, "3 more groups are not drawn") || strings.Contains(s, "group g02") || !strings.Contains(s, "group g03") {
		t.Errorf("many groups:\n%s", s)
	}
}

func TestNiceScale(t *testing.T) {
	for peak, want := range map[int][2]int{0: {4, 1}, 3: {4, 1}, 5: {6, 2}, 10: {10, 5}, 12: {15, 5}, 97: {100, 50}, 1234: {1500, 500}} {
		if top, step := niceScale(peak); top != want[0] || step != want[1] {
			t.Errorf("niceScale(%d) = %d, %d; want %v", peak, top, step, want)
		}
	}
}
