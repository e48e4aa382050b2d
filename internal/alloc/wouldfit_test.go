package alloc

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Issue 14 §1: queued answers and queue entries say what would place the
// member now; a what-if places today's queue under hypothetical changes,
// counts right and changes nothing (queue, seats, pools, the index).
func TestWouldFitAndSimulate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := newTestService(t, d, &jobsStub{})
		pools := createPools(t, s, model.KindServer, 2, 1, nil)
		out, err := s.ImportAccounts(ctx, ImportParams{Script: "A", Files: accountFiles("a", 5)})
		if err != nil {
			t.Fatal(err)
		}
		queued := 0
		for _, o := range out {
			if o.Status != OutcomeQueued {
				continue
			}
			queued++
			if len(o.WouldFit) != 3 || o.WouldFit[0].Field != model.FitCapacity || o.WouldFit[0].Change != "capacity 1 → 2" ||
				o.WouldFit[2].Field != model.FitAddPool {
				t.Fatalf("a queued answer's would_fit: %+v", o.WouldFit)
			}
		}
		if queued != 3 {
			t.Fatalf("queued %d of 5 on two one-seat pools", queued)
		}
		entries, err := s.st.QueueList(ctx, model.KindServer, 100)
		if err != nil {
			t.Fatal(err)
		}
		fits, err := s.QueueWouldFit(ctx, entries)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range fits {
			if len(f) != 3 || f[0].Pool != pools[0].Name || f[1].Pool != pools[1].Name || f[0].Change != "capacity 1 → 2" {
				t.Fatalf("entry %d would_fit: %+v", i, f)
			}
		}

		snapshot := func() string {
			q, err := s.st.QueueList(ctx, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			seats, err := s.st.SeatList(ctx, store.SeatFilter{})
			if err != nil {
				t.Fatal(err)
			}
			ps, err := s.st.PoolList(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal([]any{q, seats, ps})
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		before := snapshot()

		two, paused := 2, model.StatusPaused
		res, err := s.Simulate(ctx, []SimChange{
			{Add: &SimAdd{Kind: model.KindServer, Count: 1, Capacity: 1}},
			{Pool: pools[0].Name, Capacity: &two},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := SimResult{Placed: 2, StillQueued: 1, Considered: 3, ByPool: map[string]int{pools[0].Name: 1, "new-server-1": 1}}
		if !reflect.DeepEqual(res, want) {
			t.Fatalf("simulate: %+v, want %+v", res, want)
		}
		// Pausing the pool made larger places nobody more.
		res, err = s.Simulate(ctx, []SimChange{{Pool: pools[0].Name, Capacity: &two, Status: &paused}})
		if err != nil || res.Placed != 0 || res.StillQueued != 3 {
			t.Fatalf("simulate a paused pool: %+v %v", res, err)
		}
		for _, bad := range [][]SimChange{
			{{Pool: "nowhere", Capacity: &two}},
			{{Pool: pools[0].Name}},
			{{}},
			{{Add: &SimAdd{Kind: "boat", Count: 1, Capacity: 1}}},
		} {
			if _, err := s.Simulate(ctx, bad); !errors.Is(err, ErrInvalid) {
				t.Fatalf("simulate %+v: %v, want ErrInvalid", bad, err)
			}
		}

		if after := snapshot(); after != before {
			t.Fatalf("the what-if changed the database:\nbefore %s\nafter  %s", before, after)
		}
		again, err := s.QueueWouldFit(ctx, entries)
		if err != nil || !reflect.DeepEqual(again, fits) {
			t.Fatalf("the what-if changed the index: %+v (%v), want %+v", again, err, fits)
		}
	})
}

// A redeemer who waits hears what would seat them, without the teams'
// names; an operator's move that waits hears it with them.
func TestWouldFitInRedeemAndMoveAnswers(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, store.SQLite, &jobsStub{})
	teams := createPools(t, s, model.KindTeam, 1, 1, nil)
	cs := newCodes(t, s, 2)
	if res, err := s.Redeem(ctx, "a@example.com", cs[0], "public"); err != nil || res.State != model.TeamSeatPending {
		t.Fatalf("first redeem: %+v %v", res, err)
	}
	res, err := s.Redeem(ctx, "b@example.com", cs[1], "public")
	if err != nil || res.State != model.TeamSeatQueued {
		t.Fatalf("second redeem: %+v %v", res, err)
	}
	if len(res.WouldFit) != 2 || res.WouldFit[0].Field != model.FitCapacity || res.WouldFit[0].Change != "capacity 1 → 2" ||
		res.WouldFit[1].Field != model.FitAddPool {
		t.Fatalf("a queued redeem's would_fit: %+v", res.WouldFit)
	}
	for _, c := range res.WouldFit {
		if c.Pool != "" || c.PoolID != 0 {
			t.Fatalf("a public answer names a team: %+v", c)
		}
	}
	// The first member's seat moves; no other team: the move waits, and
	// lifting the exclusion of its own team is not offered (it has no
	// room either), only a larger team elsewhere or a new one.
	m, err := s.st.MemberGetByExternal(ctx, model.KindTeam, "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	seat, err := s.st.SeatLive(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.MoveSeat(ctx, seat.ID, "", "admin")
	if err != nil || o.Status != OutcomeQueued {
		t.Fatalf("move: %+v %v", o, err)
	}
	if len(o.WouldFit) != 1 || o.WouldFit[0].Field != model.FitAddPool || o.WouldFit[0].Kind != model.KindTeam {
		t.Fatalf("a queued move's would_fit: %+v (team %s)", o.WouldFit, teams[0].Name)
	}
}
