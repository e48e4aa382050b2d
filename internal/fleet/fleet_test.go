package fleet_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/fleet"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

func makePool(t *testing.T, st *store.Store, name string, kind model.Kind, capacity int) model.Pool {
	t.Helper()
	return storetest.Pool(t, st, store.PoolCreateParams{Name: name, Kind: kind, Capacity: capacity})
}

// A Summary's totals agree with the pools, seats and queue; the pools are
// listed one by one only up to PoolSeries; the unhealthy ones always.
func TestSummary(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		s1 := makePool(t, st, "s-1", model.KindServer, 4)
		makePool(t, st, "s-2", model.KindServer, 6)
		t1 := makePool(t, st, "t-1", model.KindTeam, 5)
		if _, _, err := st.PoolSetStatus(ctx, t1.ID, model.StatusBanned, "", "test", ""); err != nil {
			t.Fatal(err)
		}
		m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: "u@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := st.PoolReserve(ctx, s1.ID); err != nil || !ok {
			t.Fatal(ok, err)
		}
		if _, err := st.SeatCreate(ctx, m.ID, s1.ID, model.SeatActive, 0, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := st.QueuePush(ctx, model.QueueEntry{MemberID: m.ID, Kind: model.KindServer, Reason: "test"}); err != nil {
			t.Fatal(err)
		}

		s := fleet.Read(ctx, st.Reader(), fleet.Options{PoolSeries: 3})
		for _, err := range []error{s.PoolsErr, s.SeatsErr, s.QueueErr, s.IntegrityErr, s.MovesErr, s.ForecastErr} {
			if err != nil {
				t.Fatal(err)
			}
		}
		if s.JobsErr == nil {
			t.Error("no River table, yet the jobs were read")
		}
		servers := s.Kind(model.KindServer)
		if servers.Pools != 2 || servers.Capacity != 10 || servers.Used != 1 || servers.Free != 9 || servers.Unhealthy != 0 || servers.ByStatus[model.StatusActive] != 2 {
			t.Errorf("servers %+v", servers)
		}
		teams := s.Kind(model.KindTeam)
		if teams.Pools != 1 || teams.Free != 0 || teams.Unhealthy != 1 || teams.ByStatus[model.StatusBanned] != 1 {
			t.Errorf("teams %+v", teams)
		}
		if s.PoolCount != 3 || len(s.PerPool) != 3 || len(s.Unhealthy) != 1 || s.Unhealthy[0].Name != "t-1" {
			t.Errorf("pools %d, per pool %+v, unhealthy %+v", s.PoolCount, s.PerPool, s.Unhealthy)
		}
		if n := s.SeatsByState()[model.SeatActive]; n != 1 {
			t.Errorf("active seats %d", n)
		}
		if s.Queued(model.KindServer) != 1 || s.Queued(model.KindTeam) != 0 {
			t.Errorf("queued %d servers, %d teams", s.Queued(model.KindServer), s.Queued(model.KindTeam))
		}
		if s.Findings() != 0 || len(s.Forecast) != 2 {
			t.Errorf("findings %d, forecast %+v", s.Findings(), s.Forecast)
		}
		if s := fleet.Read(ctx, st.Reader(), fleet.Options{PoolSeries: 2}); s.PerPool != nil || s.PoolCount != 3 || len(s.Unhealthy) != 1 {
			t.Errorf("over the cap: per pool %+v", s.PerPool)
		}
	})
}

// A Reader reuses the counts for TTL and the checks for SlowTTL;
// concurrent callers past the TTL share one read.
func TestReaderCache(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	r := fleet.New(st.Reader(), fleet.Options{TTL: 10 * time.Second, SlowTTL: 30 * time.Second, Now: clock})
	makePool(t, st, "s-1", model.KindServer, 4)
	if s := r.Summary(ctx); s.PoolCount != 1 || len(s.Forecast) != 1 {
		t.Fatalf("pools %d, forecast %+v", s.PoolCount, s.Forecast)
	}
	makePool(t, st, "t-1", model.KindTeam, 4)
	advance(9 * time.Second)
	if s := r.Summary(ctx); s.PoolCount != 1 || r.Reads() != 1 {
		t.Errorf("within the TTL: pools %d, reads %d; want the cached 1, 1", s.PoolCount, r.Reads())
	}
	advance(2 * time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { r.Summary(ctx) })
	}
	wg.Wait()
	s := r.Summary(ctx)
	if s.PoolCount != 2 || r.Reads() != 2 {
		t.Errorf("past the TTL: pools %d, reads %d; want 2, 2", s.PoolCount, r.Reads())
	}
	if len(s.Forecast) != 1 || now.Sub(s.CheckedAt) != 11*time.Second {
		t.Errorf("the checks were not reused: forecast %+v, checked %v ago", s.Forecast, now.Sub(s.CheckedAt))
	}
	advance(20 * time.Second)
	if s := r.Summary(ctx); len(s.Forecast) != 2 {
		t.Errorf("past SlowTTL: forecast %+v", s.Forecast)
	}
}
