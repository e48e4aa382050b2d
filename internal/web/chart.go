package web

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/fleet"
	"github.com/berthhq/berth/internal/model"
)

// The dashboard's charts: utilization over time per kind and group, and
// queue depth over time per kind, from the samples the sample job records
// (package fleet, History). They are drawn here as inline SVG, on the
// server: nothing is fetched or run in the browser (no chart library to
// download, the page works with scripts off), and html/template escapes
// every label. Each chart is role="img" with a <title> and a <desc> that
// says in words what the lines show, axis labels, and an HTML legend
// below it; servers are drawn solid and teams dashed, so the kinds differ
// without colour too.

//go:embed templates/charts.tmpl
var chartsSource string

var chartsTemplate = template.Must(template.New("charts").Funcs(template.FuncMap{
	"add": func(a, b float64) float64 { return a + b },
	"sub": func(a, b float64) float64 { return a - b },
	"mid": func(a, b float64) float64 { return (a + b) / 2 },
}).Parse(chartsSource))

// chartRange is one choice of the range selector (?range=).
type chartRange struct {
	Key, Label string // Label: a catalogue key
	Span       time.Duration
}

var chartRanges = []chartRange{
	{"24h", "dash.range_day", 24 * time.Hour},
	{"7d", "dash.range_week", 7 * 24 * time.Hour},
	{"30d", "dash.range_month", 30 * 24 * time.Hour},
}

// pickRange is the range ?range= asks for; the first (24 hours) for
// anything else: a bad value in a bookmarked link is not worth an error
// page.
func pickRange(r *http.Request) chartRange {
	v := r.URL.Query().Get("range")
	for _, c := range chartRanges {
		if c.Key == v {
			return c
		}
	}
	return chartRanges[0]
}

// maxChartLines bounds the utilization lines: past it the groups with the
// most capacity are drawn and the others counted (a fleet may have
// hundreds of groups; a chart of hundreds of lines says nothing).
const maxChartLines = 8

// chartPalette: dark enough for text contrast on white (used in the
// legend's swatches too), apart in hue.
var chartPalette = []string{"#0b57d0", "#b3261e", "#1e6b34", "#8e24aa", "#b45f06", "#00796b", "#5f6368", "#c2185b"}

// The SVG's coordinate box; it scales to the page's width.
const (
	chartW, chartH                     = 720, 240
	plotL, plotR, plotT, plotB float64 = 56, 708, 14, 200
)

type chartTick struct {
	Pos   float64
	Label string
}

type chartLine struct {
	Label, Color, Dash string
	Path               string       // the joined runs of points (M … L …)
	Dots               [][2]float64 // points with no neighbour to join
	Summary            string       // the legend's words (and the <desc>'s)
}

type svgChart struct {
	ID, Title, Desc, XLabel, YLabel string
	W, H                            float64
	L, R, T, B                      float64
	XTicks, YTicks                  []chartTick
	Lines                           []chartLine
	More                            string // groups not drawn, in words
	kindColor                       map[model.Kind]string
}

type rangeLink struct {
	Key, Label string
	Current    bool
}

type chartsData struct {
	Heading, RangeLabel string
	Ranges              []rangeLink
	Empty, Failed       string // the words of the empty state or the failure; "" otherwise
	Charts              []svgChart
}

// renderCharts draws h in l as the dashboard's charts section. err is the
// failure to read h, shown in words.
func renderCharts(l lang, h fleet.History, cur chartRange, err error) (template.HTML, error) {
	d := chartsData{Heading: l.T("dash.chart_heading"), RangeLabel: l.T("dash.range")}
	for _, c := range chartRanges {
		d.Ranges = append(d.Ranges, rangeLink{Key: c.Key, Label: l.T(c.Label), Current: c.Key == cur.Key})
	}
	switch {
	case err != nil:
		d.Failed = l.T("dash.chart_failed")
	case h.Empty():
		d.Empty = l.T("dash.chart_empty")
	default:
		util := utilChart(l, h)
		d.Charts = []svgChart{util, queueChart(l, h, util)}
	}
	var buf bytes.Buffer
	if err := chartsTemplate.Execute(&buf, d); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

// seriesLabel names a kind and group the way the forecast does.
func seriesLabel(l lang, kind model.Kind, group string) string {
	label := l.T("forecast.kind." + string(kind))
	if group != "" {
		label = l.T("forecast.group", label, group)
	}
	return label
}

func newChart(l lang, h fleet.History, id, title, yLabel string) svgChart {
	return svgChart{ID: id, Title: title, XLabel: l.T("dash.chart_time"), YLabel: yLabel, W: chartW, H: chartH,
		L: plotL, R: plotR, T: plotT, B: plotB, XTicks: timeTicks(l, h.Since, h.Until)}
}

func utilChart(l lang, h fleet.History) svgChart {
	c := newChart(l, h, "chart-util", l.T("dash.chart_util"), l.T("dash.chart_util_axis"))
	c.kindColor = map[model.Kind]string{}
	series := append([]fleet.Series(nil), h.Series...)
	// The groups with the most capacity now are drawn; the order of the
	// legend stays by kind, then group.
	if len(series) > maxChartLines {
		sort.SliceStable(series, func(i, j int) bool { return lastCap(series[i]) > lastCap(series[j]) })
		c.More = l.T("dash.chart_more", len(series)-maxChartLines)
		series = series[:maxChartLines]
		sort.SliceStable(series, func(i, j int) bool {
			if series[i].Kind != series[j].Kind {
				return series[i].Kind < series[j].Kind
			}
			return series[i].Group < series[j].Group
		})
	}
	// 0-100%, higher when a pool is overbooked, in steps of 25%.
	top := 1.0
	for _, s := range series {
		for _, p := range s.Points {
			top = math.Max(top, p.Utilization())
		}
	}
	top = math.Ceil(top*4) / 4
	for v := 0.0; v <= top+1e-9; v += top / 4 {
		c.YTicks = append(c.YTicks, chartTick{Pos: c.y(v, top), Label: strconv.Itoa(int(math.Round(v*100))) + "%"})
	}
	var desc []string
	for i, s := range series {
		vals := make([]float64, len(s.Points))
		peak := 0.0
		for j, p := range s.Points {
			vals[j] = p.Utilization()
			peak = math.Max(peak, vals[j])
		}
		last := s.Points[len(s.Points)-1]
		line := c.line(h, s.Points, vals, top)
		line.Label = seriesLabel(l, s.Kind, s.Group)
		line.Color, line.Dash = chartPalette[i%len(chartPalette)], kindDash(s.Kind)
		if _, ok := c.kindColor[s.Kind]; !ok {
			c.kindColor[s.Kind] = line.Color
		}
		line.Summary = l.T("dash.chart_util_line", line.Label, pct(last.Utilization()), last.Used, last.Capacity, pct(peak))
		desc = append(desc, line.Summary)
		c.Lines = append(c.Lines, line)
	}
	c.Desc = strings.Join(desc, "; ")
	return c
}

// queueChart draws each kind's queue in the colour of the kind's first
// line in util, so a colour means the same kind on both charts where it
// can.
func queueChart(l lang, h fleet.History, util svgChart) svgChart {
	c := newChart(l, h, "chart-queue", l.T("dash.chart_queue"), l.T("dash.queue_axis"))
	qs := h.Queues()
	peak := 0
	for _, q := range qs {
		for _, p := range q.Points {
			peak = max(peak, p.Queued)
		}
	}
	top, step := niceScale(peak)
	for v := 0; v <= top; v += step {
		c.YTicks = append(c.YTicks, chartTick{Pos: c.y(float64(v), float64(top)), Label: strconv.Itoa(v)})
	}
	var desc []string
	for i, q := range qs {
		vals := make([]float64, len(q.Points))
		kindPeak := 0
		for j, p := range q.Points {
			vals[j] = float64(p.Queued)
			kindPeak = max(kindPeak, p.Queued)
		}
		line := c.line(h, q.Points, vals, float64(top))
		line.Label = seriesLabel(l, q.Kind, "")
		line.Color, line.Dash = chartPalette[i%len(chartPalette)], kindDash(q.Kind)
		if c, ok := util.kindColor[q.Kind]; ok {
			line.Color = c
		}
		line.Summary = l.T("dash.queue_line", line.Label, q.Points[len(q.Points)-1].Queued, kindPeak)
		desc = append(desc, line.Summary)
		c.Lines = append(c.Lines, line)
	}
	c.Desc = strings.Join(desc, "; ")
	return c
}

// kindDash: teams dashed, servers solid.
func kindDash(k model.Kind) string {
	if k == model.KindTeam {
		return "7 4"
	}
	return ""
}

func lastCap(s fleet.Series) int { return s.Points[len(s.Points)-1].Capacity }

func pct(f float64) int { return int(math.Round(f * 100)) }

// niceScale is the top of a count axis and its tick step: the smallest
// step of 1, 2 or 5 times a power of ten that reaches peak in at most four
// steps (0-4 when nothing waits).
func niceScale(peak int) (top, step int) {
	if peak <= 4 {
		return 4, 1
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if step = m * p; (peak+step-1)/step <= 4 {
				return (peak + step - 1) / step * step, step
			}
		}
	}
}

func (c *svgChart) x(t, since, until time.Time) float64 {
	f := float64(t.Sub(since)) / float64(until.Sub(since))
	return round1(c.L + math.Min(1, math.Max(0, f))*(c.R-c.L))
}

func (c *svgChart) y(v, top float64) float64 {
	if top <= 0 {
		return c.B
	}
	return round1(c.B - v/top*(c.B-c.T))
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// line draws values at the points' times: runs of points joined, broken
// where samples are missing (berth was down: a gap more than three times
// the usual spacing, or the bucket, is left open rather than bridged by a
// straight line that was never measured), and a point alone as a dot.
func (c *svgChart) line(h fleet.History, pts []fleet.Point, vals []float64, top float64) chartLine {
	gaps := make([]time.Duration, 0, len(pts))
	for i := 1; i < len(pts); i++ {
		gaps = append(gaps, pts[i].At.Sub(pts[i-1].At))
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	usual := h.Step
	if len(gaps) > 0 {
		usual = max(usual, gaps[len(gaps)/2])
	}
	var (
		out  chartLine
		path strings.Builder
		run  [][2]float64
	)
	flush := func() {
		switch len(run) {
		case 0:
		case 1:
			out.Dots = append(out.Dots, run[0])
		default:
			for i, p := range run {
				cmd := "L"
				if i == 0 {
					cmd = "M"
				}
				fmt.Fprintf(&path, "%s%g %g ", cmd, p[0], p[1])
			}
		}
		run = run[:0]
	}
	for i, p := range pts {
		if i > 0 && p.At.Sub(pts[i-1].At) > 3*usual {
			flush()
		}
		run = append(run, [2]float64{c.x(p.At, h.Since, h.Until), c.y(vals[i], top)})
	}
	flush()
	out.Path = strings.TrimSpace(path.String())
	return out
}

// timeTicks marks the time axis in UTC (the console's times are UTC): every
// 3 hours over a day, every day over a week, every 5 days over a month.
func timeTicks(l lang, since, until time.Time) []chartTick {
	span := until.Sub(since)
	every, hours := 24*time.Hour, false
	switch {
	case span <= 2*24*time.Hour:
		every, hours = 3*time.Hour, true
	case span > 10*24*time.Hour:
		every = 5 * 24 * time.Hour
	}
	c := svgChart{L: plotL, R: plotR}
	var out []chartTick
	for t := since.UTC().Truncate(every); !t.After(until); t = t.Add(every) {
		if t.Before(since) {
			continue
		}
		label := forecastDate(l, t)
		if hours {
			label = t.Format("15:04")
			if t.Hour() == 0 {
				label = forecastDate(l, t)
			}
		}
		out = append(out, chartTick{Pos: c.x(t, since, until), Label: label})
	}
	return out
}

// chartCache keeps the last read of each range longer than a day for
// a fifth of its bucket (7 minutes for a week, 30 for a month): a month
// of 5-minute samples of 10 groups is 86,400 rows to fold, about 0.4 s on
// SQLite or PostgreSQL (measured), for buckets of 150 minutes that change
// little meanwhile. The 24-hour chart is read every time (about 45 ms), so
// a new sample shows at once. One read at a time: viewers that come
// together wait for one read instead of making one each.
type chartCache struct {
	mu    sync.Mutex
	reads map[string]cachedHistory
}

type cachedHistory struct {
	h  fleet.History
	at time.Time
}

// charts reads the range ?range= asks for and draws it. A failed read is
// said in the section (and logged): the rest of the dashboard still shows.
func (w *Web) charts(r *http.Request) (template.HTML, error) {
	cur := pickRange(r)
	h, err := w.chartReads.read(r, w, cur)
	if err != nil {
		w.log.Warn("web: fleet samples", "request_id", requestID(r), "err", err)
	}
	return renderCharts(w.lang(r), h, cur, err)
}

func (c *chartCache) read(r *http.Request, w *Web, cur chartRange) (fleet.History, error) {
	now := w.rd.Now()
	keep := fleet.Step(cur.Span) / 5
	if cur.Span <= 24*time.Hour {
		keep = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if got, ok := c.reads[cur.Key]; ok && now.Sub(got.at) < keep {
		return got.h, nil
	}
	h, err := fleet.ReadHistory(r.Context(), w.rd, now.Add(-cur.Span), now.Add(time.Second), "")
	if err == nil && keep > 0 {
		if c.reads == nil {
			c.reads = map[string]cachedHistory{}
		}
		c.reads[cur.Key] = cachedHistory{h: h, at: now}
	}
	return h, err
}
