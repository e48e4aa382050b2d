package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/berthhq/berth/internal/alloc/plans"
	"github.com/berthhq/berth/internal/model"
)

// planRetention reads BERTH_PLAN_RETENTION: how long a finished plan is
// kept before the sweep deletes it (jobs.Config.PlanRetention), a duration
// (days allowed) or 0 to keep plans forever; unset or empty is
// plans.DefaultRetention (30 days).
func planRetention() (time.Duration, error) {
	v := os.Getenv("BERTH_PLAN_RETENTION")
	if v == "" {
		return plans.DefaultRetention, nil
	}
	d, err := model.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("BERTH_PLAN_RETENTION=%q: want a duration such as 30d or 720h, or 0 to keep plans forever", v)
	}
	return d, nil
}
