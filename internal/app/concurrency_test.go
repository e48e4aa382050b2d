package app_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Test50BatchesRaceForLast10Slots: 50 concurrent batch requests compete for
// the last 10 slots of the fleet; exactly 10 accounts are placed, the rest
// queued, and no pool is ever over capacity.
func Test50BatchesRaceForLast10Slots(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		fleet(h)
		// Fill all but 10 of the 15 slots: worker-01 full.
		h.Import("pre", apptest.Files("pre", 1, 5))
		var wg sync.WaitGroup
		results := make([][]apptest.BatchItem, 50)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Two accounts per batch, scripts spread over five.
				results[i] = h.Import(fmt.Sprintf("s%d", i%5), apptest.Files(fmt.Sprintf("race%d-", i), 1, 2))
			}()
		}
		wg.Wait()
		placed, queued := 0, 0
		for _, items := range results {
			for _, it := range items {
				switch it.Status {
				case "placed":
					placed++
				case "queued":
					queued++
				default:
					t.Errorf("unexpected %+v", it)
				}
			}
		}
		if placed != 10 || queued != 90 {
			t.Fatalf("placed %d queued %d; want 10 and 90", placed, queued)
		}
		checkNoOverbooking(t, h)
		var q struct{ Items []struct{ Position int } }
		h.Do("GET", "/api/v1/queue?kind=server", nil).JSON(t, &q)
		if len(q.Items) != 90 {
			t.Fatalf("queue length %d", len(q.Items))
		}
		for i, e := range q.Items {
			if e.Position != i+1 {
				t.Fatalf("queue position %d at %d", e.Position, i)
			}
		}
	})
}

// checkNoOverbooking compares each pool's used count with capacity and with
// the seats that count against it.
func checkNoOverbooking(t *testing.T, h *apptest.Harness) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, "seats to settle", func() bool {
		rows, err := h.App.Store.DB.Query(`SELECT p.name, p.used, p.capacity,
			(SELECT COUNT(*) FROM seats s WHERE s.pool_id = p.id AND s.state NOT IN ('released', 'failed'))
			FROM pools p`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		ok := true
		for rows.Next() {
			var name string
			var used, capacity, counted int
			rows.Scan(&name, &used, &capacity, &counted)
			if used > capacity {
				t.Fatalf("pool %s overbooked: %d/%d", name, used, capacity)
			}
			if used != counted {
				ok = false
			}
		}
		return ok
	})
	var dup int
	h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM (SELECT member_id FROM seats WHERE state IN ('reserved','provisioning','active')
		AND move_from IS NULL GROUP BY member_id HAVING COUNT(*) > 1) x`).Scan(&dup)
	if dup != 0 {
		t.Fatalf("%d members hold two live seats", dup)
	}
}

// TestTwoReplicasRaceForLastSlots: two berth replicas on one PostgreSQL, each
// with its own (soon stale) placement index; the database guard alone keeps
// the fleet from being overbooked.
func TestTwoReplicasRaceForLastSlots(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.Postgres)
	fleet(h)
	h2 := apptest.StartOn(t, h.DSN)
	// Both replicas load their index now, then the fleet fills through both.
	h.Import("warm", apptest.Files("warm", 1, 1))
	h2.Import("warm", apptest.Files("warm", 2, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed := 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h
			if i%2 == 1 {
				r = h2
			}
			items := r.Import(fmt.Sprintf("s%d", i%3), apptest.Files(fmt.Sprintf("r%d-", i), 1, 1))
			mu.Lock()
			if items[0].Status == "placed" {
				placed++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if placed != 13 {
		t.Fatalf("placed %d of the 13 free slots", placed)
	}
	checkNoOverbooking(t, h)
}
