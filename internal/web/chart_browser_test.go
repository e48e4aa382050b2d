package web_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// fleetWeek records a week of 5-minute samples as the sample job would: a
// daily cycle of use on servers (no group) and a "gpu" server group filling
// up, teams in group "vip", and a team queue at the evening peaks; berth
// was down for three hours two days ago.
func fleetWeek(t *testing.T, st *store.Store, now time.Time) {
	t.Helper()
	var rows []store.FleetSample
	start := now.Add(-7 * 24 * time.Hour).Truncate(5 * time.Minute)
	down := now.Add(-48 * time.Hour)
	for at := start; at.Before(now.Add(-time.Minute)); at = at.Add(5 * time.Minute) {
		if at.After(down) && at.Before(down.Add(3*time.Hour)) {
			continue
		}
		days := at.Sub(start).Hours() / 24
		cycle := (1 - math.Cos(2*math.Pi*float64(at.Hour()*60+at.Minute())/1440)) / 2 // 0 at midnight, 1 at noon
		queued := 0
		if cycle > 0.85 {
			queued = int(40 * (cycle - 0.85) / 0.15)
		}
		rows = append(rows,
			store.FleetSample{At: at, Kind: model.KindServer, Pools: 3, Capacity: 28, Used: int(8 + 14*cycle)},
			store.FleetSample{At: at, Kind: model.KindServer, Group: "gpu", Pools: 2, Capacity: 40, Used: int(10 + 25*days/7)},
			store.FleetSample{At: at, Kind: model.KindTeam, Group: "vip", Pools: 3, Capacity: 15, Used: int(3 + 10*cycle), Queued: queued},
		)
	}
	if err := st.FleetSamplesInsert(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserDashboardCharts: the dashboard draws a week of samples as two
// inline SVG charts with a legend; the range selector switches to 24 hours
// and back; in Chinese too. The screenshots are looked at, not only
// checked: artifacts/screenshots/40-42 (and a copy in the system's
// temporary directory).
func TestBrowserDashboardCharts(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	seed(t, c)
	fleetWeek(t, c.h.App.Store, time.Now().UTC())
	signInBrowser(t, ctx, c.URL, "admin", adminPassword)
	run(t, ctx, "dashboard, 7 days", chromedp.Navigate(c.URL+"/admin/?range=7d"), chromedp.WaitVisible(chromedp.CSS("#chart-util svg")))
	if n := get(t, ctx, "lines", chromedp.Evaluate[int](`document.querySelectorAll("#chart-util path").length`)); n < 3 {
		t.Fatalf("%d lines in the utilization chart, want one per kind and group (at least 3)", n)
	}
	legend := text(t, ctx, "#chart-util .chart-legend")
	for _, want := range []string{"Servers, group gpu:", "Teams, group vip:"} {
		if !strings.Contains(legend, want) {
			t.Errorf("legend %q lacks %q", legend, want)
		}
	}
	if cur := text(t, ctx, `.chart-range [aria-current="page"]`); cur != "7 days" {
		t.Errorf("range selected: %q", cur)
	}
	// The chart fits the page: no horizontal scroll at 1280 px.
	if w := get(t, ctx, "width", chromedp.Evaluate[float64](`document.querySelector("#chart-util svg").getBoundingClientRect().width`)); w < 300 || w > 1280 {
		t.Errorf("the chart is %.0f px wide", w)
	}
	screenshot(t, ctx, "40-dashboard-7d.png")
	chartShot(t, ctx, "40-dashboard-charts-7d.png", "section.charts")
	run(t, ctx, "24 hours", chromedp.Click(chromedp.CSS(`.chart-range a[href^="?range=24h"]`)), chromedp.WaitVisible(chromedp.CSS("#chart-queue svg")))
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "range=24h") {
		t.Errorf("after the range link: %s", loc)
	}
	chartShot(t, ctx, "41-dashboard-charts-24h.png", "section.charts")
	run(t, ctx, "Chinese", chromedp.Navigate(c.URL+"/lang?to=zh-CN&next=%2Fadmin%2F%3Frange%3D30d"), chromedp.WaitVisible(chromedp.CSS("#chart-util svg")))
	if s := text(t, ctx, "#chart-util figcaption"); s != "座位使用率（按类型和分组）" {
		t.Errorf("zh caption %q", s)
	}
	chartShot(t, ctx, "42-dashboard-charts-30d-zh.png", "section.charts")
}

// chartShot saves the element sel, in artifacts/screenshots and in the
// temporary directory.
func chartShot(t *testing.T, ctx context.Context, name, sel string) {
	t.Helper()
	png := get(t, ctx, "screenshot "+name, chromedp.Screenshot(chromedp.CSS(sel)))
	save(t, name, png)
	if err := os.WriteFile(filepath.Join(os.TempDir(), "berth-"+name), png, 0o644); err != nil {
		t.Log(err)
	}
}
