package cli

import (
	"testing"
	"time"
)

// BERTH_SHUTDOWN_DRAIN: unset is 5s, 0 turns the drain off, and a value
// that is not a duration from 0 to 10s is refused.
func TestShutdownDrain(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
		ok   bool
	}{{"", 5 * time.Second, true}, {"0", 0, true}, {"2s", 2 * time.Second, true}, {"-1s", 0, false}, {"1m", 0, false}, {"soon", 0, false}} {
		t.Setenv("BERTH_SHUTDOWN_DRAIN", c.env)
		got, err := shutdownDrain()
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("BERTH_SHUTDOWN_DRAIN=%q: %s, %v; want %s (ok %v)", c.env, got, err, c.want, c.ok)
		}
	}
}
