package store_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/replay"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// ReplayInput turns history rows into replay events: pools older than the
// history start as their first change found them, capacities come from the
// reasons, a member named in both kinds is the one of the pool it got, the
// old seat of a move is not a departure, and a cancelled wait or a
// rejection is one.
func TestReplayInput(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		for _, p := range []store.PoolCreateParams{
			{Name: "old", Kind: model.KindServer, Capacity: 3, Priority: 2},
			{Name: "new", Kind: model.KindServer, Capacity: 2, Weight: 3},
			{Name: "team-1", Kind: model.KindTeam, Capacity: 5, Labels: map[string]string{"group": "vip"}},
		} {
			p.ProviderType, p.ProviderConfig = "sim", []byte("{}")
			if _, err := st.PoolCreate(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []store.MemberCreateParams{
			{Kind: model.KindServer, ExternalID: "x", AffinityKey: "A"},
			{Kind: model.KindTeam, ExternalID: "x", Labels: map[string]string{"group": "vip"}},
			{Kind: model.KindServer, ExternalID: "y", AffinityKey: "B"},
			{Kind: model.KindServer, ExternalID: "z"},
			{Kind: model.KindTeam, ExternalID: "u"},
		} {
			if _, _, err := st.MemberCreate(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		hs := []model.HistoryEntry{
			{Pool: "new", Action: model.ActPoolCreated, To: "new", Reason: "server pool, capacity 1, provider sim"},
			{Pool: "old", Action: model.ActPoolStatus, From: "paused", To: "active"},
			{Member: "x", Action: model.ActQueued, Reason: "no room"},
			{Member: "x", Pool: "team-1", Action: model.ActPlaced, To: "team-1"},
			{Member: "y", Pool: "old", Action: model.ActPlaced, To: "old"},
			{Pool: "old", Action: model.ActPoolUpdated, Reason: "capacity 2→3, priority 2→2, labels map[]→map[], provider sim→sim"},
			{Member: "y", Pool: "new", Action: model.ActMoveStarted, From: "old", To: "new"},
			{Member: "y", Pool: "old", Action: model.ActRelease, From: "old"},
			{Member: "y", Pool: "old", Action: model.ActReleased, From: "old"}, // the move's old seat
			{Member: "z", Action: model.ActQueued},
			{Member: "z", Action: model.ActQueueCancelled},
			{Member: "u", Pool: "team-1", Action: model.ActPlaced, To: "team-1"},
			{Member: "u", Action: model.ActRejected},
			{Member: "y", Pool: "new", Action: model.ActReleased, From: "new"},
			{Pool: "new", Action: model.ActPoolUpdated, Reason: "capacity 1→2, priority 0→0, labels map[]→map[], provider sim→sim"},
			{Pool: "old", Action: model.ActHealthOffline, From: "active", To: "offline"},
			{Pool: "old", Action: model.ActPoolUpdated, Reason: "capacity 3→3, priority 2→1, labels map[]→map[], provider sim→sim"},
		}
		for i := range hs {
			hs[i].At = t0.Add(time.Duration(i+1) * time.Second)
		}
		if err := st.HistoryAddMany(ctx, hs...); err != nil {
			t.Fatal(err)
		}

		in, err := st.Reader().ReplayInput(ctx, t0.Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if in.Since != t0.Add(10*time.Second).UnixMicro() || len(in.Pools) != 3 || in.Pools[2].Labels["group"] != "vip" || in.Pools[0].Priority != 2 || in.Pools[1].Weight != 3 || in.Pools[0].Weight != 1 {
			t.Fatalf("since %d, pools %+v", in.Since, in.Pools)
		}
		var got []string
		for _, e := range in.Events {
			s := fmt.Sprintf("%d %s", (e.At-t0.UnixMicro())/1e6, opName[e.Op])
			switch e.Op {
			case replay.OpPoolAdd:
				s += fmt.Sprintf(" %s %d %s", in.Pools[e.Pool].Name, e.N, e.Status)
			case replay.OpCapacity:
				s += fmt.Sprintf(" %s %d", in.Pools[e.Pool].Name, e.N)
			case replay.OpStatus:
				s += fmt.Sprintf(" %s %s", in.Pools[e.Pool].Name, e.Status)
			case replay.OpPlace, replay.OpMove:
				s += fmt.Sprintf(" %s %s", in.Members[e.Member].Name, in.Pools[e.Pool].Name)
			default:
				s += " " + in.Members[e.Member].Name
			}
			got = append(got, s)
		}
		want := []string{
			"1 pool old 2 paused", "1 pool team-1 5 active", // older than the history: as their first change found them
			"1 pool new 1 active", "2 status old active",
			"3 arrive x", "4 place x team-1",
			"5 arrive y", "5 place y old", "6 capacity old 3", "7 move y new",
			"10 arrive z", "11 depart z",
			"12 arrive u", "12 place u team-1", "13 depart u",
			"14 depart y", "15 capacity new 2", "16 status old offline",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		x := in.Members[0]
		if x.Name != "x" || x.Kind != model.KindTeam || x.Labels["group"] != "vip" || in.Members[1].AffinityKey != "B" {
			t.Errorf("members: %+v", in.Members)
		}
		// Since 10 s: z and u arrive in the window, u is placed; y was on
		// new (capacity 1) since 7 s and x on team-1 (5) since 4 s. The pools
		// in use hold 2 of 6 seats over [10, 12), 3 of 6 over [12, 13), 2 of
		// 6 over [13, 14), then 1 of 5.
		a := replay.Actual(in)
		if a.Arrivals != 2 || a.Placed != 1 || a.PoolsUsed != 2 || a.StillQueued != 0 || a.PeakUtilization != 1 ||
			math.Abs(a.MeanUtilization-(2*2.0/6+3.0/6+2.0/6+2*0.2)/6) > 1e-9 {
			t.Errorf("actual: %+v", a)
		}
		// Without since, everything counts.
		in, err = st.Reader().ReplayInput(ctx, time.Time{})
		if err != nil || in.Since != 0 {
			t.Fatal(err, in.Since)
		}
		if a := replay.Actual(in); a.Arrivals != 4 || a.Placed != 3 || a.WaitMax != 1 {
			t.Errorf("actual, all: %+v", a)
		}
	})
}

var opName = map[replay.Op]string{
	replay.OpPoolAdd: "pool", replay.OpCapacity: "capacity", replay.OpStatus: "status", replay.OpArrive: "arrive",
	replay.OpPlace: "place", replay.OpMove: "move", replay.OpDepart: "depart",
}
