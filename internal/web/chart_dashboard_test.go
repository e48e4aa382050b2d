package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The dashboard carries the charts section over HTTP (no browser): the
// week's samples drawn for ?range=7d, a range it does not know drawn as
// 24 hours, both with the legend in words.
func TestDashboardCharts(t *testing.T) {
	c := startConsole(t)
	fleetWeek(t, c.h.App.Store, time.Now().UTC())
	view := c.signIn("view", userPassword)
	for path, current := range map[string]string{"/admin/?range=7d": "7 days", "/admin/?range=1y": "24 hours"} {
		r := c.do(view, "GET", path, nil, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.Status)
		}
		for _, want := range []string{
			`<section class="charts" aria-labelledby="h-charts">`,
			`aria-current="page">` + current + `</a>`,
			`role="img" aria-labelledby="chart-util-t chart-util-d"`,
			`<path d="M`,
			"Servers, group gpu: ", " waiting now, peak 40", // the teams queue peaks at noon
		} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
}
