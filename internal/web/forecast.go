package web

import (
	"fmt"
	"time"

	"github.com/berthhq/berth/internal/fleet"
)

// The dashboard's capacity forecast in words: per kind and group, "add 3
// servers before 12 Dec" when the active pools run full within the
// horizon at the recent placement rate (package fleet), "capacity is
// enough for N days" otherwise.

// forecastHorizon is how far ahead the dashboard warns: a group full
// within it is told to grow.
const forecastHorizon = 7 * 24 * time.Hour

// forecastLine is one sentence of the forecast; Warn marks a group that
// runs full within the horizon.
type forecastLine struct {
	Text string
	Warn bool
}

// forecastDate is the day a group runs full, in l's words.
func forecastDate(l lang, t time.Time) string {
	t = t.UTC()
	if l == zh {
		return fmt.Sprintf("%d月%d日", int(t.Month()), t.Day())
	}
	return t.Format("2 Jan")
}

// forecastSentence says f in l as of now; ok is false for a group with no
// active capacity (nothing to forecast).
func forecastSentence(l lang, f fleet.Forecast, now time.Time, horizon time.Duration) (forecastLine, bool) {
	if f.Capacity <= 0 {
		return forecastLine{}, false
	}
	kind := string(f.Kind)
	label := l.T("forecast.kind." + kind)
	if f.Group != "" {
		label = l.T("forecast.group", label, f.Group)
	}
	var text string
	warn := false
	switch {
	case f.Never:
		text = l.T("forecast.idle")
	case f.FullIn <= horizon:
		n, key := max(1, f.PoolsNeeded), "forecast.add."+kind
		if n == 1 {
			key = "forecast.add_one." + kind
		}
		text, warn = l.T(key, n, forecastDate(l, f.FullAt(now))), true
	default:
		text = l.T("forecast.enough", int(f.FullIn/(24*time.Hour)))
	}
	return forecastLine{Text: l.T("forecast.line", label, text), Warn: warn}, true
}

// forecastLines says every group's forecast in l.
func forecastLines(l lang, fs []fleet.Forecast, now time.Time) []forecastLine {
	var out []forecastLine
	for _, f := range fs {
		if line, ok := forecastSentence(l, f, now, forecastHorizon); ok {
			out = append(out, line)
		}
	}
	return out
}
