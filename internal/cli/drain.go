package cli

import (
	"fmt"
	"os"
	"time"
)

// defaultShutdownDrain is serve's drain period when BERTH_SHUTDOWN_DRAIN is
// unset: long enough for a load balancer polling /readyz every few seconds
// to stop sending requests before the listener closes.
const defaultShutdownDrain = 5 * time.Second

// shutdownDrain reads BERTH_SHUTDOWN_DRAIN: a Go duration, 0 for none;
// unset or empty is defaultShutdownDrain (app.Config.ShutdownDrain).
func shutdownDrain() (time.Duration, error) {
	v := os.Getenv("BERTH_SHUTDOWN_DRAIN")
	if v == "" {
		return defaultShutdownDrain, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 10*time.Second {
		return 0, fmt.Errorf("BERTH_SHUTDOWN_DRAIN %q: want a duration from 0 to 10s such as 5s (shutdown has 15s in all)", v)
	}
	return d, nil
}
