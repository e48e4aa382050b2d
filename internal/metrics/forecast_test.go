package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/fleet"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

func TestForecastFromDatabase(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		now := time.Now().UTC().Truncate(time.Second)
		at := func(offset time.Duration) { st.SetClock(func() time.Time { return now.Add(offset) }) }
		mk := func(name, group string, capacity int) model.Pool {
			return storetest.Pool(t, st, store.PoolCreateParams{Name: name, Kind: model.KindTeam, Capacity: capacity,
				Labels: map[string]string{"group": group}})
		}
		g1 := mk("g-1", "g", 10)
		g2 := mk("g-2", "g", 30) // paused: not counted as room, but sizes the average pool
		if _, _, err := st.PoolSetStatus(ctx, g2.ID, model.StatusPaused, "", "test", ""); err != nil {
			t.Fatal(err)
		}
		mk("idle-1", "idle", 5)

		// Placements: two 2h ago (outside the window), four in the last hour.
		at(-2 * time.Hour)
		for range 2 {
			st.HistoryAdd(ctx, model.HistoryEntry{Member: "old", Pool: "g-1", Action: model.ActPlaced, Actor: "test"})
		}
		at(-30 * time.Minute)
		for i := range 4 {
			st.HistoryAdd(ctx, model.HistoryEntry{Member: fmt.Sprint("u", i), Pool: "g-1", Action: model.ActPlaced, Actor: "test"})
			st.HistoryAdd(ctx, model.HistoryEntry{Member: fmt.Sprint("u", i), Pool: "g-1", Action: model.ActDelivered, Actor: "test"})
		}
		at(0)
		// Four live seats on g-1, two on codes ending in 30 and 90 minutes.
		for i, ends := range []time.Duration{30 * time.Minute, 90 * time.Minute, 0, 0} {
			m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindTeam, ExternalID: fmt.Sprint("u", i)})
			if err != nil {
				t.Fatal(err)
			}
			var codeID int64
			if ends > 0 {
				if codeID, err = st.CodeCreate(ctx, store.CodeCreateParams{Display: fmt.Sprint("c", i), Normalized: fmt.Sprint("C", i),
					Hint: "x", MaxUses: 1}); err != nil {
					t.Fatal(err)
				}
				if _, err := st.DB.Exec(`UPDATE codes SET ends_at = $1, status = 'bound' WHERE id = $2`, now.Add(ends).UnixMicro(), codeID); err != nil {
					t.Fatal(err)
				}
			}
			if ok, err := st.PoolReserve(ctx, g1.ID); err != nil || !ok {
				t.Fatal(ok, err)
			}
			if _, err := st.SeatCreate(ctx, m.ID, g1.ID, model.SeatActive, 0, codeID); err != nil {
				t.Fatal(err)
			}
		}

		fs, err := fleet.ComputeForecast(ctx, st.Reader(), now, fleet.ForecastOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 2 {
			t.Fatalf("forecasts %+v", fs)
		}
		g, idle := fs[0], fs[1]
		// 6 free, 4 placed an hour, 2 seats back at 30 and 90 minutes: full in 2h.
		// A week needs 672 seats, 8 are there: 664 / 20 (average pool) → 34 pools.
		want := fleet.Forecast{Kind: model.KindTeam, Group: "g", Capacity: 10, Free: 6, ActivePools: 1, RatePerHour: 4, ReleasesDue: 2,
			FullIn: 2 * time.Hour, PoolsNeeded: 34}
		if g != want {
			t.Errorf("group g: %+v\nwant       %+v", g, want)
		}
		if !g.FullAt(now).Equal(now.Add(2 * time.Hour)) {
			t.Errorf("full at %v", g.FullAt(now))
		}
		if !idle.Never || idle.Free != 5 || idle.RatePerHour != 0 || idle.PoolsNeeded != 0 || !idle.FullAt(now).IsZero() {
			t.Errorf("idle group: %+v", idle)
		}

		// The gauges.
		c := newStateCollector(st, slog.New(slog.DiscardHandler))
		reg := prometheus.NewRegistry()
		reg.MustRegister(c)
		for _, tc := range []struct {
			name, group string
			want        float64
		}{
			{"berth_capacity_full_in_seconds", "g", 7200},
			{"berth_capacity_full_in_seconds", "idle", math.Inf(1)},
			{"berth_capacity_placement_rate_per_hour", "g", 4},
			{"berth_capacity_releases_due", "g", 2},
			{"berth_capacity_pools_needed", "g", 34},
		} {
			if v, ok := value(t, reg, tc.name, map[string]string{"kind": "team", "group": tc.group}); !ok || v != tc.want {
				t.Errorf("%s{group=%q} = %v (%v), want %v", tc.name, tc.group, v, ok, tc.want)
			}
		}
	})
}
