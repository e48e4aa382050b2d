package alloc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// checkCounts fails if a pool holds more than its capacity or its used
// count differs from the seats that count against it, or a member holds
// two live seats.
func checkCounts(t *testing.T, s *Service) {
	t.Helper()
	ctx := context.Background()
	pools, err := s.st.PoolList(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	holders := map[int64]int{}
	for _, p := range pools {
		seats, err := s.st.SeatList(ctx, store.SeatFilter{PoolID: p.ID, States: []model.SeatState{model.SeatReserved, model.SeatProvisioning,
			model.SeatActive, model.SeatReleasing, model.SeatReleaseFailed}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Used > p.Capacity || p.Used != len(seats) {
			t.Fatalf("pool %s: used %d, capacity %d, %d seats counting", p.Name, p.Used, p.Capacity, len(seats))
		}
		for _, seat := range seats {
			if holders[seat.MemberID]++; holders[seat.MemberID] > 1 {
				t.Fatalf("member %d holds two seats", seat.MemberID)
			}
		}
	}
}

// Fifty concurrent imports of two accounts race for the last ten seats:
// exactly ten are placed, the ninety others queued at positions 1…90, and
// no pool is overbooked.
func TestImportsRaceForLastSeats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := newTestService(t, d, &jobsStub{})
		createPools(t, s, model.KindServer, 3, 5, nil)
		if _, err := s.ImportAccounts(ctx, ImportParams{Script: "pre", Files: accountFiles("pre", 5)}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		results := make([][]Outcome, 50)
		errs := make([]error, 50)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = s.ImportAccounts(ctx, ImportParams{Script: fmt.Sprintf("s%d", i%5), Files: accountFiles(fmt.Sprintf("r%02d-", i), 2)})
			}()
		}
		wg.Wait()
		placed, queued := 0, 0
		for i, out := range results {
			if errs[i] != nil {
				t.Fatalf("import %d: %v", i, errs[i])
			}
			for _, o := range out {
				switch o.Status {
				case OutcomePlaced:
					placed++
				case OutcomeQueued:
					queued++
					if !strings.Contains(o.Reason, "3 full") {
						t.Errorf("queued %s: reason %q, want it to say the pools are full", o.Member.ExternalID, o.Reason)
					}
				default:
					t.Errorf("unexpected outcome %+v", o)
				}
			}
		}
		if placed != 10 || queued != 90 {
			t.Fatalf("placed %d, queued %d; want 10 and 90", placed, queued)
		}
		checkCounts(t, s)
		q, err := s.st.QueueList(ctx, model.KindServer, 1000)
		if err != nil || len(q) != 90 {
			t.Fatalf("queue: %d entries (%v), want 90", len(q), err)
		}
		for i, e := range q {
			if pos, err := s.st.QueuePosition(ctx, e.MemberID); err != nil || pos != i+1 {
				t.Fatalf("queue entry %d at position %d (%v)", i, pos, err)
			}
		}
	})
}

// With every pool offline or full a member is queued with the reason and
// its position; a release gives the room back and the next drain places
// the first in line (FIFO), moving the others up.
func TestQueueExplainsThenReleaseAndDrain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := newTestService(t, d, &jobsStub{})
		pools := createPools(t, s, model.KindServer, 3, 5, nil)
		if ok, err := s.SetPoolStatus(ctx, pools[2].ID, model.StatusOffline, "down", model.ActorMonitor, ""); err != nil || !ok {
			t.Fatalf("offline: %v %v", ok, err)
		}
		h, err := s.st.HistoryList(ctx, store.HistoryFilter{Pool: pools[2].Name, Action: model.ActHealthOffline})
		if err != nil || len(h) != 1 || h[0].Actor != model.ActorMonitor {
			t.Fatalf("monitor's offline: history %+v %v, want one health.offline row", h, err)
		}
		out, err := s.ImportAccounts(ctx, ImportParams{Script: "A", Files: accountFiles("a", 13)})
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range out[:10] {
			if o.Status != OutcomePlaced || o.Pool == pools[2].Name {
				t.Fatalf("account %d: %+v, want placed on an online pool", i, o)
			}
		}
		for i, o := range out[10:] {
			if o.Status != OutcomeQueued || o.Reason != "3 pools: 1 offline, 2 full" || o.Position != i+1 {
				t.Fatalf("queued account %d: %+v, want position %d and the explanation", i, o, i+1)
			}
		}
		if n, err := s.DrainQueue(ctx, model.KindServer); err != nil || n != 0 {
			t.Fatalf("drain with no room placed %d (%v)", n, err)
		}
		// An admin release: the seat is releasing and still counts until
		// the provider confirms; then the room is back.
		if err := s.Release(ctx, out[0].SeatID, "admin"); err != nil {
			t.Fatal(err)
		}
		if seat, err := s.st.SeatGet(ctx, out[0].SeatID); err != nil || seat.State != model.SeatReleasing {
			t.Fatalf("released seat %+v %v, want releasing", seat, err)
		}
		if err := s.Release(ctx, out[0].SeatID, "admin"); err != nil {
			t.Fatalf("releasing again: %v, want a no-op", err)
		}
		if n, err := s.DrainQueue(ctx, model.KindServer); err != nil || n != 0 {
			t.Fatalf("drain while the seat is still releasing placed %d (%v)", n, err)
		}
		if err := s.Released(ctx, out[0].SeatID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DrainQueue(ctx, model.KindServer); err != nil || n != 1 {
			t.Fatalf("drain after the release placed %d (%v), want 1", n, err)
		}
		first, err := s.st.SeatLive(ctx, out[10].Member.ID)
		if err != nil || first.Pool != out[0].Pool {
			t.Fatalf("first in line: seat %+v %v, want one on %s", first, err, out[0].Pool)
		}
		for i, o := range out[11:] {
			if pos, err := s.st.QueuePosition(ctx, o.Member.ID); err != nil || pos != i+1 {
				t.Fatalf("after the drain %s is at %d (%v), want %d", o.Member.ExternalID, pos, err, i+1)
			}
		}
		checkCounts(t, s)
		// The monitor's pool comes back: the rest fit again.
		if _, err := s.SetPoolStatus(ctx, pools[2].ID, model.StatusActive, "probe ok", model.ActorMonitor, model.StatusOffline); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DrainQueue(ctx, model.KindServer); err != nil || n != 2 {
			t.Fatalf("drain after the pool came back placed %d (%v), want 2", n, err)
		}
		checkCounts(t, s)
	})
}
