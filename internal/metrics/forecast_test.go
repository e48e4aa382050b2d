package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

func TestFullIn(t *testing.T) {
	h := time.Hour
	for _, tc := range []struct {
		free  int
		rate  float64
		rel   []time.Duration
		want  time.Duration
		never bool
	}{
		{0, 5, nil, 0, false},
		{-1, 5, nil, 0, false},
		{10, 0, nil, 0, true},
		{10, 5, nil, 2 * h, false},
		// Two releases before the pools fill push it out by two placements.
		{6, 4, []time.Duration{h / 2, 90 * time.Minute}, 2 * h, false},
		// A release after the pools are full does not help.
		{4, 4, []time.Duration{3 * h}, h, false},
	} {
		got, never := fullIn(tc.free, tc.rate, tc.rel)
		if got != tc.want || never != tc.never {
			t.Errorf("fullIn(%d, %v, %v) = %v, %v; want %v, %v", tc.free, tc.rate, tc.rel, got, never, tc.want, tc.never)
		}
	}
}

func TestPoolsNeeded(t *testing.T) {
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		free, due int
		rate, avg float64
		want      int
	}{
		{100, 0, 0, 10, 0},
		{1000, 0, 5, 10, 0},  // 840 needed, 1000 free
		{600, 40, 5, 10, 20}, // 840 - 640 = 200 → 20 pools of 10
		{600, 41, 5, 10, 20}, // 199 → 19.9 → 20
		{0, 0, 1, 0, 0},      // no pools to size from
	} {
		if got := poolsNeeded(tc.free, tc.rate, tc.due, week, tc.avg); got != tc.want {
			t.Errorf("poolsNeeded(%+v) = %d", tc, got)
		}
	}
}

func TestForecastFromDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := storetest.Open(t, d)
		now := time.Now().UTC().Truncate(time.Second)
		at := func(offset time.Duration) { st.SetClock(func() time.Time { return now.Add(offset) }) }
		mk := func(name, group string, capacity int) model.Pool {
			p, err := st.PoolCreate(ctx, store.PoolCreateParams{Name: name, Kind: model.KindTeam, Capacity: capacity,
				Labels: map[string]string{"group": group}, ProviderType: "sim", ProviderConfig: []byte("{}"), Actor: "test"})
			if err != nil {
				t.Fatal(err)
			}
			return p
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

		fs, err := ComputeForecast(ctx, st, now, ForecastOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 2 {
			t.Fatalf("forecasts %+v", fs)
		}
		g, idle := fs[0], fs[1]
		// 6 free, 4 placed an hour, 2 seats back at 30 and 90 minutes: full in 2h.
		// A week needs 672 seats, 8 are there: 664 / 20 (average pool) → 34 pools.
		want := Forecast{Kind: model.KindTeam, Group: "g", Capacity: 10, Free: 6, ActivePools: 1, RatePerHour: 4, ReleasesDue: 2,
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

		// The binary search finds the first row of the window.
		var firstIn, last int64
		st.DB.QueryRow(`SELECT MIN(id) FROM history WHERE at >= $1`, now.Add(-time.Hour).UnixMicro()).Scan(&firstIn)
		st.DB.QueryRow(`SELECT MAX(id) FROM history`).Scan(&last)
		for since, want := range map[time.Duration]int64{-time.Hour: firstIn, time.Hour: last + 1, -3 * time.Hour: 1} {
			if got, err := firstHistoryID(ctx, st, now.Add(since)); err != nil || got != want {
				t.Errorf("first history id since now%+v: %d, %v; want %d", since, got, err, want)
			}
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
