package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/jobs"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The fleet's aggregates (store/fleet.go) on both engines: pools by kind,
// status and group label (the group read from the labels' JSON in SQL),
// seats, queue and moves grouped with their oldest times.
func TestFleetAggregates(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		now := time.Now().UTC().Truncate(time.Millisecond)
		st.SetClock(func() time.Time { return now })
		mk := func(name string, kind model.Kind, capacity, priority int, group string) model.Pool {
			var labels map[string]string
			if group != "" {
				labels = map[string]string{"group": group, "region": "eu"}
			}
			return storetest.Pool(t, st, store.PoolCreateParams{Name: name, Kind: kind, Capacity: capacity, Priority: priority, Labels: labels})
		}
		s1 := mk("s-1", model.KindServer, 4, 0, "")
		mk("s-2", model.KindServer, 6, 0, "")
		t1 := mk("t-1", model.KindTeam, 5, 1, "vip")
		t2 := mk("t-2", model.KindTeam, 2, 0, "vip")
		if _, _, err := st.PoolSetStatus(ctx, t2.ID, model.StatusOffline, "unreachable", "test", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB.Exec(`UPDATE pools SET used = 3 WHERE id = $1`, s1.ID); err != nil {
			t.Fatal(err)
		}

		groups, err := st.Reader().FleetPoolGroups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[store.PoolGroup]bool{
			{Kind: model.KindServer, Status: model.StatusActive, Pools: 2, Capacity: 10, Used: 3, Free: 7}:    true,
			{Kind: model.KindTeam, Status: model.StatusActive, Group: "vip", Pools: 1, Capacity: 5, Free: 5}:  true,
			{Kind: model.KindTeam, Status: model.StatusOffline, Group: "vip", Pools: 1, Capacity: 2, Free: 2}: true,
		}
		if len(groups) != len(want) {
			t.Errorf("pool groups %+v", groups)
		}
		for _, g := range groups {
			if !want[g] {
				t.Errorf("unexpected pool group %+v", g)
			}
		}

		// By priority, then name; the limit; the status filter.
		pools, err := st.Reader().FleetPools(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range pools {
			names = append(names, p.Name)
		}
		if fmt.Sprint(names) != "[s-1 s-2 t-2 t-1]" {
			t.Errorf("pools in order %v", names)
		}
		if pools[2].Group != "vip" || pools[2].Status != model.StatusOffline || pools[2].StatusMessage != "unreachable" || pools[0].Free() != 1 {
			t.Errorf("pool rows %+v", pools)
		}
		if pools, err := st.Reader().FleetPools(ctx, 2); err != nil || len(pools) != 2 {
			t.Errorf("limit 2: %d pools, %v", len(pools), err)
		}
		bad, err := st.Reader().FleetPools(ctx, 10, model.StatusBanned, model.StatusOffline)
		if err != nil || len(bad) != 1 || bad[0].ID != t2.ID {
			t.Errorf("offline or banned pools %+v, %v", bad, err)
		}

		// Seats: two on t-1 (one provisioning an hour ago), a queued move
		// and a queued new member.
		var seat int64
		for i, state := range []model.SeatState{model.SeatProvisioning, model.SeatActive} {
			st.SetClock(func() time.Time { return now.Add(-time.Hour + time.Duration(i)*time.Minute) })
			m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindTeam, ExternalID: fmt.Sprintf("u%d@example.com", i)})
			if err != nil {
				t.Fatal(err)
			}
			if seat, err = st.SeatCreate(ctx, m.ID, t1.ID, state, 0, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := st.QueuePush(ctx, model.QueueEntry{MemberID: m.ID, Kind: model.KindTeam, IsMove: i == 1, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		st.SetClock(func() time.Time { return now })
		seats, err := st.Reader().FleetSeatGroups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(seats) != 2 {
			t.Fatalf("seat groups %+v", seats)
		}
		for _, g := range seats {
			if g.Kind != model.KindTeam || g.Seats != 1 || (g.State == model.SeatProvisioning && !g.Oldest.Equal(now.Add(-time.Hour))) {
				t.Errorf("seat group %+v", g)
			}
		}
		queue, err := st.Reader().FleetQueueGroups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(queue) != 2 {
			t.Fatalf("queue groups %+v", queue)
		}
		for _, g := range queue {
			at := now.Add(-time.Hour)
			if g.Move {
				at = at.Add(time.Minute)
			}
			if g.Kind != model.KindTeam || g.Entries != 1 || !g.Oldest.Equal(at) {
				t.Errorf("queue group %+v, want oldest %v", g, at)
			}
		}

		// Moves by state and paid.
		m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindTeam, ExternalID: "mover@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.MoveCreate(ctx, model.Move{MemberID: m.ID, FromSeat: seat, Paid: true, Reason: "test", Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		moves, err := st.Reader().FleetMoveGroups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(moves) != 1 || moves[0] != (store.MoveGroup{State: model.MovePending, Paid: true, Moves: 1}) {
			t.Errorf("move groups %+v", moves)
		}
	})
}

// River's jobs grouped on both engines (MIN(scheduled_at) is a time on
// PostgreSQL and text on SQLite); without River's table the read fails.
func TestFleetJobGroups(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		if _, err := st.Reader().FleetJobGroups(ctx); err == nil {
			t.Error("no error without River's table")
		}
		if err := jobs.Migrate(ctx, st); err != nil {
			t.Fatal(err)
		}
		for _, state := range []string{"available", "available", "discarded", "completed"} {
			finalized := "NULL"
			if state != "available" {
				finalized = "CURRENT_TIMESTAMP" // River's check: a finished job has a finish time
			}
			if _, err := st.DB.Exec(`INSERT INTO river_job (kind, args, max_attempts, state, finalized_at) VALUES ('deliver', '{}', 5, $1, `+finalized+`)`, state); err != nil {
				t.Fatal(err)
			}
		}
		groups, err := st.Reader().FleetJobGroups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, g := range groups {
			if g.Kind != "deliver" {
				t.Errorf("job group %+v", g)
			}
			n[g.State] = g.Jobs
			if age := time.Since(g.Oldest); age < -time.Minute || age > time.Minute {
				t.Errorf("%s jobs scheduled %v ago", g.State, age)
			}
		}
		if len(n) != 2 || n["available"] != 2 || n["discarded"] != 1 {
			t.Errorf("jobs by state %v", n)
		}
	})
}

// The forecast's inputs: placements in a window (found by a binary search
// on history's ids) and the seats that code expiries give back.
func TestFleetForecastInputs(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		now := time.Now().UTC().Truncate(time.Second)
		at := func(offset time.Duration) { st.SetClock(func() time.Time { return now.Add(offset) }) }
		p := storetest.Pool(t, st, store.PoolCreateParams{Name: "g-1", Kind: model.KindTeam, Capacity: 10, Labels: map[string]string{"group": "g"}})
		q := st.Reader()
		if id, err := q.HistoryIDSince(ctx, now); err != nil || id != 0 {
			t.Errorf("empty history: %d, %v", id, err)
		}
		at(-2 * time.Hour)
		st.HistoryAdd(ctx, model.HistoryEntry{Member: "old", Pool: "g-1", Action: model.ActPlaced, Actor: "test"})
		at(-30 * time.Minute)
		for i := range 3 {
			st.HistoryAdd(ctx, model.HistoryEntry{Member: fmt.Sprint("u", i), Pool: "g-1", Action: model.ActPlaced, Actor: "test"})
			st.HistoryAdd(ctx, model.HistoryEntry{Member: fmt.Sprint("u", i), Pool: "g-1", Action: model.ActDelivered, Actor: "test"})
		}
		st.HistoryAdd(ctx, model.HistoryEntry{Member: "gone", Pool: "deleted-pool", Action: model.ActPlaced, Actor: "test"})
		at(0)

		var firstIn, last int64
		st.DB.QueryRow(`SELECT MIN(id) FROM history WHERE at >= $1`, now.Add(-time.Hour).UnixMicro()).Scan(&firstIn)
		st.DB.QueryRow(`SELECT MAX(id) FROM history`).Scan(&last)
		for since, want := range map[time.Duration]int64{-time.Hour: firstIn, time.Hour: last + 1, -3 * time.Hour: 1} {
			if got, err := q.HistoryIDSince(ctx, now.Add(since)); err != nil || got != want {
				t.Errorf("first history id since now%+v: %d, %v; want %d", since, got, err, want)
			}
		}
		placed, err := q.PlacementsSince(ctx, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(placed) != 1 || placed[0] != (store.GroupCount{Kind: model.KindTeam, Group: "g", N: 3}) {
			t.Errorf("placements in the last hour %+v", placed)
		}

		// Live seats on codes ending in 30 minutes and in 10 days, and one
		// without a code.
		for i, ends := range []time.Duration{30 * time.Minute, 240 * time.Hour, 0} {
			m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindTeam, ExternalID: fmt.Sprint("u", i)})
			if err != nil {
				t.Fatal(err)
			}
			var codeID int64
			if ends > 0 {
				if codeID, err = st.CodeCreate(ctx, store.CodeCreateParams{Display: fmt.Sprint("c", i), Normalized: fmt.Sprint("C", i), Hint: "x", MaxUses: 1}); err != nil {
					t.Fatal(err)
				}
				if _, err := st.DB.Exec(`UPDATE codes SET ends_at = $1, status = 'bound' WHERE id = $2`, now.Add(ends).UnixMicro(), codeID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.SeatCreate(ctx, m.ID, p.ID, model.SeatActive, 0, codeID); err != nil {
				t.Fatal(err)
			}
		}
		due, err := q.ReleasesDue(ctx, now, now.Add(7*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 1 || due[0].Kind != model.KindTeam || due[0].Group != "g" || !due[0].EndsAt.Equal(now.Add(30*time.Minute)) {
			t.Errorf("releases due %+v", due)
		}
	})
}
