package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/health"
)

// healthEnv reads the pool health scorer's settings (package health,
// docs/configuration.md): BERTH_HEALTH_HALF_LIFE, BERTH_HEALTH_LATENCY_TARGET,
// BERTH_HEALTH_THRESHOLD and BERTH_HEALTH_RECOVERY_MARGIN; unset means the
// default.
func healthEnv() (health.Config, error) {
	var c health.Config
	var err error
	if c.HalfLife, err = envDuration("BERTH_HEALTH_HALF_LIFE"); err != nil {
		return c, err
	}
	if c.LatencyTarget, err = envDuration("BERTH_HEALTH_LATENCY_TARGET"); err != nil {
		return c, err
	}
	if v := strings.TrimSpace(os.Getenv("BERTH_HEALTH_THRESHOLD")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= 1) {
			return c, fmt.Errorf("BERTH_HEALTH_THRESHOLD=%q: want a score above 0 and at most 1, such as 0.7", v)
		}
		c.Threshold = f
	}
	if v := strings.TrimSpace(os.Getenv("BERTH_HEALTH_RECOVERY_MARGIN")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= 1) {
			return c, fmt.Errorf("BERTH_HEALTH_RECOVERY_MARGIN=%q: want a score difference above 0 and at most 1, such as 0.1", v)
		}
		c.RecoveryMargin = f
	}
	return c, nil
}
