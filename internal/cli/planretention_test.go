package cli

import (
	"testing"
	"time"
)

// BERTH_PLAN_RETENTION: unset is 30 days, 0 keeps plans forever, days are
// read, and a negative or unreadable value is refused.
func TestPlanRetention(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
		ok   bool
	}{{"", 30 * 24 * time.Hour, true}, {"0", 0, true}, {"7d", 7 * 24 * time.Hour, true}, {"12h", 12 * time.Hour, true},
		{"-1d", 0, false}, {"soon", 0, false}} {
		t.Setenv("BERTH_PLAN_RETENTION", c.env)
		got, err := planRetention()
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("BERTH_PLAN_RETENTION=%q: %s, %v; want %s (ok %v)", c.env, got, err, c.want, c.ok)
		}
	}
}
