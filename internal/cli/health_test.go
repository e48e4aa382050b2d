package cli

import (
	"testing"
	"time"
)

func TestHealthEnv(t *testing.T) {
	t.Setenv("BERTH_HEALTH_HALF_LIFE", "")
	t.Setenv("BERTH_HEALTH_LATENCY_TARGET", "")
	t.Setenv("BERTH_HEALTH_THRESHOLD", "")
	t.Setenv("BERTH_HEALTH_RECOVERY_MARGIN", "")
	if c, err := healthEnv(); err != nil || c.HalfLife != 0 || c.Threshold != 0 || c.RecoveryMargin != 0 {
		t.Fatalf("unset: %+v, %v", c, err)
	}
	t.Setenv("BERTH_HEALTH_HALF_LIFE", "2m")
	t.Setenv("BERTH_HEALTH_LATENCY_TARGET", "500ms")
	t.Setenv("BERTH_HEALTH_THRESHOLD", "0.5")
	t.Setenv("BERTH_HEALTH_RECOVERY_MARGIN", "0.2")
	c, err := healthEnv()
	if err != nil || c.HalfLife != 2*time.Minute || c.LatencyTarget != 500*time.Millisecond || c.Threshold != 0.5 || c.RecoveryMargin != 0.2 {
		t.Fatalf("set: %+v, %v", c, err)
	}
	for _, bad := range []string{"0", "1.5", "high", "-0.2"} {
		t.Setenv("BERTH_HEALTH_THRESHOLD", bad)
		if _, err := healthEnv(); err == nil {
			t.Errorf("BERTH_HEALTH_THRESHOLD=%s accepted", bad)
		}
	}
	t.Setenv("BERTH_HEALTH_THRESHOLD", "0.5")
	for _, bad := range []string{"0", "1.5", "wide", "-0.1"} {
		t.Setenv("BERTH_HEALTH_RECOVERY_MARGIN", bad)
		if _, err := healthEnv(); err == nil {
			t.Errorf("BERTH_HEALTH_RECOVERY_MARGIN=%s accepted", bad)
		}
	}
}
