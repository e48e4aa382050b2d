package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The sweep deletes finished plans past BERTH_PLAN_RETENTION (here 1ms,
// the sweep every 100ms): an applied plan then answers 404 as an unknown
// id, while an open plan (not expired, so not finished) stays.
func TestPlanRetentionSweep(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d, func(c *app.Config) {
			c.Jobs.SweepInterval, c.Jobs.PlanRetention = 100*time.Millisecond, time.Millisecond
		})
		id := h.Pool("team-1", "team", 2, 0)
		open := makePlan(t, h, "pools.status", map[string]any{"ids": []int64{id}, "status": "paused"})
		done := makePlan(t, h, "pools.status", map[string]any{"ids": []int64{id}, "status": "paused"})
		applyPlan(h, done.ID).MustStatus(t, 200)
		apptest.Eventually(t, 10*time.Second, "the applied plan deleted", func() bool {
			return h.Do("GET", fmt.Sprintf("/api/v1/plans/%d", done.ID), nil).Status == 404
		})
		var got planView
		h.Do("GET", fmt.Sprintf("/api/v1/plans/%d", open.ID), nil).MustStatus(t, 200).JSON(t, &got)
		if got.State != "open" {
			t.Fatalf("the open plan: %+v", got)
		}
	})
}
