package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

type integrityReport struct {
	Orphans     []struct{ Member string }
	Overbooked  []any
	ZombieMoves []any `json:"zombie_moves"`
	Drift       []struct {
		Kind              string
		Recorded, Derived int
	}
}

// orphanSeat gives user@example.com a second live seat, on pool, outside
// any move: an orphan (as a crashed system without make-before-break would
// leave).
func orphanSeat(t *testing.T, h *apptest.Harness, pool int64) {
	t.Helper()
	st := h.App.Store
	var memberID int64
	st.DB.QueryRow(`SELECT id FROM members WHERE external_id = 'user@example.com'`).Scan(&memberID)
	st.DB.Exec(`UPDATE pools SET used = used + 1 WHERE id = $1`, pool)
	if _, err := st.SeatCreate(t.Context(), memberID, pool, "active", 0, 0); err != nil {
		t.Fatal(err)
	}
}

// An orphan made on purpose is found after the grace period and repaired:
// the member keeps the seat in the healthy team and leaves the other.
func TestIntegrityFindsAndRepairsOrphan(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ids, code := seatUser(t, h, 2, nil)
		var rep integrityReport
		h.Do("GET", "/api/v1/integrity?grace=1ms", nil).MustStatus(t, 200).JSON(t, &rep)
		if len(rep.Orphans)+len(rep.Overbooked)+len(rep.ZombieMoves)+len(rep.Drift) != 0 {
			t.Fatalf("clean database reported %+v", rep)
		}
		orphanSeat(t, h, ids["team-2"])
		setStatus(t, h, "banned", ids["team-1"])
		h.Do("GET", "/api/v1/integrity?grace=1h", nil).MustStatus(t, 200).JSON(t, &rep)
		if len(rep.Orphans) != 0 {
			t.Fatalf("orphan reported inside the grace period: %+v", rep.Orphans)
		}
		time.Sleep(10 * time.Millisecond)
		h.Do("GET", "/api/v1/integrity?grace=1ms", nil).MustStatus(t, 200).JSON(t, &rep)
		if len(rep.Orphans) != 1 || rep.Orphans[0].Member != "user@example.com" {
			t.Fatalf("orphans %+v", rep.Orphans)
		}
		var res struct{ Released int }
		h.Do("POST", "/api/v1/integrity/repair", map[string]any{"limit": 10, "grace": "1ms"}).MustStatus(t, 200).JSON(t, &res)
		if res.Released != 1 {
			t.Fatalf("repair %+v", res)
		}
		// The seat in the banned team-1 went; the one in healthy team-2 stays.
		apptest.Eventually(t, 10*time.Second, "orphan repaired", func() bool {
			var rep integrityReport
			h.Do("GET", "/api/v1/integrity?grace=1ms", nil).JSON(t, &rep)
			return len(rep.Orphans) == 0 && !h.Sims.Get("team-1").Has("user@example.com")
		})
		if s := publicStatus(t, h, "user@example.com", code); s.Pool != "team-2" {
			t.Fatalf("kept %+v", s)
		}
		h.Do("POST", "/api/v1/integrity/repair", map[string]any{"limit": 5000}).MustStatus(t, 422)
	})
}

// An admin moves a seat to a chosen team, or lets placement choose.
func TestAdminMoveAndRelease(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	_, code := seatUser(t, h, 3, nil)
	var seats struct{ Items []struct{ ID int64 } }
	h.Do("GET", "/api/v1/seats?email=user@example.com&state=active", nil).JSON(t, &seats)
	h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/move", seats.Items[0].ID), map[string]string{"to": "team-3"}).MustStatus(t, 202)
	waitActive(t, h, "user@example.com", code, "team-3")
	h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/move", seats.Items[0].ID), map[string]string{"to": "team-2"}).MustStatus(t, 422)
	h.Do("GET", "/api/v1/seats?email=user@example.com&state=active", nil).JSON(t, &seats)
	h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/release", seats.Items[0].ID), nil).MustStatus(t, 202)
	apptest.Eventually(t, 10*time.Second, "released", func() bool { return publicStatus(t, h, "user@example.com", code).State == "released" })
	// Admin moves are free: the code's count did not change.
	if s := publicStatus(t, h, "user@example.com", code); s.RebindCount != 0 {
		t.Fatalf("admin move charged the user: %+v", s)
	}
}
