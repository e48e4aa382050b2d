package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The sample job (jobs.SampleArgs) records the fleet periodically, the
// first time at start: a pool created after the start shows in a later
// sample, read back through GET /api/v1/fleet/samples (viewer role); the
// sweep deletes samples past the retention.
func TestFleetSampleJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d, func(c *app.Config) {
			c.Jobs.SampleInterval = 300 * time.Millisecond
			c.Jobs.SweepInterval = 300 * time.Millisecond
			c.Jobs.SampleRetention = time.Hour
		})
		ctx := context.Background()
		old := time.Now().Add(-2 * time.Hour).UTC()
		if err := h.App.Store.FleetSamplesInsert(ctx, []store.FleetSample{{At: old, Kind: "server", Capacity: 1}}); err != nil {
			t.Fatal(err)
		}
		h.Pool("srv-1", "server", 7, 0)
		deadline := time.Now().Add(20 * time.Second)
		for {
			rows, err := h.App.Store.FleetSamples(ctx, old.Add(-time.Minute), time.Now().Add(time.Minute), "server", 0)
			if err != nil {
				t.Fatal(err)
			}
			recorded, oldLeft := false, false
			for _, r := range rows {
				recorded = recorded || (r.Capacity == 7 && r.Pools == 1)
				oldLeft = oldLeft || r.At.Equal(old)
			}
			if recorded && !oldLeft {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 20 s: samples %+v; want one of srv-1 (capacity 7) and the 2-hour-old one deleted", rows)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var got struct {
			Step   string `json:"step"`
			Series []struct {
				Kind   string `json:"kind"`
				Points []struct {
					Capacity int `json:"capacity"`
				} `json:"points"`
			} `json:"series"`
		}
		h.Do("GET", "/api/v1/fleet/samples?kind=server", nil).MustStatus(t, 200).JSON(t, &got)
		if got.Step != "5m0s" || len(got.Series) != 1 || got.Series[0].Kind != "server" || got.Series[0].Points[len(got.Series[0].Points)-1].Capacity != 7 {
			t.Errorf("GET /api/v1/fleet/samples: %+v", got)
		}
	})
}
