package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A drain job is enqueued only when someone waits: adding pools or freeing
// a seat with an empty queue makes none (it was one River job each), and
// room made while someone waits still places them.
func TestDrainJobOnlyWhenSomeoneWaits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		drains := func() int {
			var n int
			if err := h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'drain_queue'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		id := h.Pool("s1", "server", 1, 0)
		var others []int64
		for i := 2; i <= 5; i++ {
			others = append(others, h.Pool(fmt.Sprintf("s%d", i), "server", 1, 0))
		}
		h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": others, "status": "paused"}).MustStatus(t, 200)
		if n := drains(); n != 0 {
			t.Fatalf("%d drain jobs after adding and pausing pools with nobody waiting, want 0", n)
		}
		if it := h.Import("S1", apptest.Files("a", 1, 2)); it[0].Status != "placed" || it[1].Status != "queued" {
			t.Fatalf("import: %+v", it)
		}
		// Room while a1 waits: a drain places it.
		h.Do("PATCH", fmt.Sprintf("/api/v1/pools/%d", id), map[string]any{"capacity": 2}).MustStatus(t, 200)
		apptest.Eventually(t, 10*time.Second, "a2 placed by the drain", func() bool {
			var n int
			h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM queue`).Scan(&n)
			return n == 0
		})
		if n := drains(); n < 1 {
			t.Fatalf("%d drain jobs after room was made for a waiting member", n)
		}
		before := drains()
		// Free a seat with nobody waiting: no drain job.
		var seat int64
		if err := h.App.Store.DB.QueryRow(`SELECT id FROM seats ORDER BY id LIMIT 1`).Scan(&seat); err != nil {
			t.Fatal(err)
		}
		h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/release", seat), nil).MustStatus(t, 202)
		apptest.Eventually(t, 10*time.Second, "the seat released", func() bool {
			var state string
			h.App.Store.DB.QueryRow(`SELECT state FROM seats WHERE id = ` + fmt.Sprint(seat)).Scan(&state)
			return state == "released"
		})
		if n := drains(); n != before {
			t.Fatalf("%d drain jobs after a release with nobody waiting, want still %d", n, before)
		}
	})
}
