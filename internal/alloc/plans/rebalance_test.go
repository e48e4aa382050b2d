package plans

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/model"
)

// A paced move that no longer serves its plan's strategy is not made.
func TestRebalanceStale(t *testing.T) {
	plan := func(strategy string) Plan {
		b, _ := json.Marshal(RebalanceSummary{Strategy: strategy})
		return Plan{Action: ActionRebalance, Summary: b}
	}
	pool := func(name string, used, capacity int) model.Pool {
		return model.Pool{Name: name, Used: used, Capacity: capacity, Status: model.StatusActive}
	}
	for _, tc := range []struct {
		strategy string
		from, to model.Pool
		want     string // "" when the move is still made
	}{
		{"spread", pool("a", 6, 10), pool("b", 0, 10), ""},
		{"spread", pool("a", 6, 10), pool("b", 4, 10), ""}, // 2 × 0.2 > 0.2
		{"spread", pool("a", 6, 10), pool("b", 5, 10), "no longer evens the load: a is at 6/10, b at 5/10"},
		{"spread", pool("a", 3, 10), pool("b", 6, 10), "no longer evens"},
		{"pack", pool("a", 2, 10), pool("b", 8, 10), ""},
		{"pack", pool("a", 2, 10), pool("b", 0, 10), "b is empty now"},
		{"", pool("a", 2, 10), pool("b", 0, 10), ""}, // no summary to judge by
	} {
		p := plan(tc.strategy)
		if tc.strategy == "" {
			p.Summary = nil
		}
		got := stale(p, tc.from, tc.to)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s %s → %s: %q, want %q", tc.strategy, tc.from.Name, tc.to.Name, got, tc.want)
		}
	}
}
