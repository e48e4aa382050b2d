package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

func newPool(t *testing.T, s *store.Store, name string, capacity int) model.Pool {
	t.Helper()
	return storetest.Pool(t, s, store.PoolCreateParams{Name: name, Kind: model.KindServer, Capacity: capacity,
		Labels: map[string]string{"region": "us"}, ProviderConfig: []byte(`{"secret":"hunter2"}`)})
}

func TestPools(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, s *store.Store) {
		p := newPool(t, s, "worker-01", 2)
		if p.Status != model.StatusActive || p.Labels["region"] != "us" || p.Capacity != 2 {
			t.Fatalf("created %+v", p)
		}
		if _, err := s.PoolCreate(ctx, store.PoolCreateParams{Name: "worker-01", Kind: model.KindServer, ProviderType: "sim", ProviderConfig: []byte("{}")}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		// Provider settings are sealed at rest and opened on the way out.
		var raw []byte
		if err := s.DB.QueryRow(`SELECT provider_config FROM pools WHERE id = $1`, p.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if string(raw) == `{"secret":"hunter2"}` || len(raw) == 0 {
			t.Fatal("provider settings stored in the clear")
		}
		if _, cfg, err := s.PoolProvider(ctx, p.ID); err != nil || string(cfg) != `{"secret":"hunter2"}` {
			t.Fatalf("provider = %s, %v", cfg, err)
		}
		for range 2 {
			if ok, err := s.PoolReserve(ctx, p.ID); !ok || err != nil {
				t.Fatalf("reserve: %v %v", ok, err)
			}
		}
		if ok, _ := s.PoolReserve(ctx, p.ID); ok {
			t.Fatal("reserved past capacity")
		}
		one := 1
		if _, err := s.PoolUpdate(ctx, p.ID, store.PoolUpdateParams{Capacity: &one}); !errors.Is(err, store.ErrCapacityBelowUsed) {
			t.Fatalf("lowering capacity below used: %v", err)
		}
		five := 5
		if got, err := s.PoolUpdate(ctx, p.ID, store.PoolUpdateParams{Capacity: &five, Priority: &one}); err != nil || got.Capacity != 5 || got.Priority != 1 {
			t.Fatalf("update: %+v %v", got, err)
		}
		if _, ok, err := s.PoolSetStatus(ctx, p.ID, model.StatusPaused, "maintenance", "alice", ""); err != nil || !ok {
			t.Fatal(err)
		}
		if ok, _ := s.PoolReserve(ctx, p.ID); ok {
			t.Fatal("reserved on a paused pool")
		}
		if _, err := s.PoolGet(ctx, 999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown pool: %v", err)
		}
		list, err := s.PoolList(ctx, model.KindTeam)
		if err != nil || len(list) != 0 {
			t.Fatalf("team list: %v %v", list, err)
		}
	})
}

// TestReserveConcurrent: many writers race for the last slots; the guard in
// the database lets exactly capacity of them through.
func TestReserveConcurrent(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, s *store.Store) {
		p := newPool(t, s, "last", 10)
		var won atomic.Int64
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.InTx(ctx, func(tx *store.Tx) error {
					ok, err := tx.PoolReserve(ctx, p.ID)
					if ok {
						won.Add(1)
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, _ := s.PoolGet(ctx, p.ID)
		if won.Load() != 10 || got.Used != 10 {
			t.Fatalf("won %d, used %d; want 10", won.Load(), got.Used)
		}
	})
}

func TestMembersSeatsQueueHistory(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, s *store.Store) {
		p := newPool(t, s, "w", 3)
		m, created, err := s.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: "639277333688", AffinityKey: "A", FileName: "639277333688.session", FileData: []byte("SECRET")})
		if err != nil || !created {
			t.Fatal(err, created)
		}
		if again, created, err := s.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: "639277333688"}); err != nil || created || again.ID != m.ID {
			t.Fatalf("idempotent create: %v %v %v", again, created, err)
		}
		if _, data, err := s.MemberFile(ctx, m.ID); err != nil || string(data) != "SECRET" {
			t.Fatalf("file %q %v", data, err)
		}
		seat, err := s.SeatCreate(ctx, m.ID, p.ID, model.SeatProvisioning, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.SeatTransition(ctx, seat, model.SeatActive, "", model.SeatProvisioning); !ok {
			t.Fatal("transition refused")
		}
		if ok, _ := s.SeatTransition(ctx, seat, model.SeatActive, "", model.SeatProvisioning); ok {
			t.Fatal("transition from a state the seat is not in")
		}
		aff, err := s.PoolAffinity(ctx, model.KindServer)
		if err != nil || aff[p.ID]["A"] != 1 {
			t.Fatalf("affinity %v %v", aff, err)
		}
		accts, err := s.AccountList(ctx, store.AccountFilter{Script: "A"})
		if err != nil || len(accts) != 1 || accts[0].Pool != "w" || accts[0].State != "active" {
			t.Fatalf("accounts %+v %v", accts, err)
		}
		var ids []int64
		for i, ext := range []string{"q1", "q2", "q3"} {
			qm, _, _ := s.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: ext})
			ids = append(ids, qm.ID)
			pos, err := s.QueuePush(ctx, model.QueueEntry{MemberID: qm.ID, Kind: model.KindServer, IsMove: i == 2, Reason: "full"})
			if err != nil {
				t.Fatal(err)
			}
			want := []int{1, 2, 1}[i]
			if pos != want {
				t.Fatalf("%s position %d want %d", ext, pos, want)
			}
		}
		list, _ := s.QueueList(ctx, model.KindServer, 0)
		if len(list) != 3 || list[0].Member != "q3" || list[1].Member != "q1" {
			t.Fatalf("queue order %+v", list)
		}
		if ok, _ := s.QueueRemove(ctx, ids[2]); !ok {
			t.Fatal("remove")
		}
		if pos, _ := s.QueuePosition(ctx, ids[1]); pos != 2 {
			t.Fatalf("q2 position %d", pos)
		}
		s.HistoryAdd(ctx, model.HistoryEntry{Member: "639277333688", Action: model.ActPlaced, To: "w", Reason: "r", Actor: "test"})
		h, err := s.HistoryList(ctx, store.HistoryFilter{Pool: "w"})
		if err != nil || len(h) != 1 || h[0].Actor != "test" {
			t.Fatalf("history %+v %v", h, err)
		}
	})
}
