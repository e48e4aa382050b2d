package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The expiry tests are not parallel (TestMain): their codes live a second
// or two, so a seat must be delivered within that time, which tests sharing
// the machine could delay.
func fastExpiry(c *app.Config) { c.Jobs.ExpireInterval = 100 * time.Millisecond }

// When a code expires its seat is released and the user removed from the team.
func TestExpiryReleasesSeat(t *testing.T) {
	h := apptest.Start(t, store.SQLite, fastExpiry)
	_, code := seatUser(t, h, 1, map[string]any{"valid_for": "1500ms"})
	apptest.Eventually(t, 15*time.Second, "seat released after expiry", func() bool {
		s := publicStatus(t, h, "user@example.com", code)
		return s.State == "expired" && !h.Sims.Get("team-1").Has("user@example.com") &&
			strings.HasSuffix(actions(history(t, h, "member=user@example.com")), "released")
	})
	got := actions(history(t, h, "member=user@example.com"))
	if !strings.Contains(got, "code.expired release.started released") {
		t.Fatalf("history: %s", got)
	}
	// An expired code cannot be redeemed again.
	if _, r := redeem(t, h, "user@example.com", code); r.Status != 410 {
		t.Fatalf("redeem after expiry: %d %s", r.Status, r.Body)
	}
}

// A user queued at redeem and seated later by a queue drain gets a seat that
// rests on the code: when the code ends, the seat is released. (Before, the
// drain made a seat with no code, which no expiry ever found.)
func TestQueuedRedeemSeatExpiresWithCode(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			h := apptest.Start(t, d, fastExpiry)
			teams(h, 1, 1)
			first := genCodes(t, h, 1, nil)[0]
			redeem(t, h, "first@example.com", first)
			waitActive(t, h, "first@example.com", first, "team-1")
			late := genCodes(t, h, 1, map[string]any{"valid_for": "4s"})[0]
			if s, r := redeem(t, h, "late@example.com", late); r.Status != 200 || s.State != "queued" {
				t.Fatalf("second redeem on a full team: %d %+v", r.Status, s)
			}
			var seats struct{ Items []struct{ ID int64 } }
			h.Do("GET", "/api/v1/seats?email=first@example.com&state=active", nil).JSON(t, &seats)
			h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/release", seats.Items[0].ID), nil).MustStatus(t, 202)
			waitActive(t, h, "late@example.com", late, "team-1")
			apptest.Eventually(t, 20*time.Second, "the drained seat released when its code ends", func() bool {
				s := publicStatus(t, h, "late@example.com", late)
				return s.State == "expired" && !h.Sims.Get("team-1").Has("late@example.com")
			})
		})
	}
}

// When the same email holds another valid code, the seat carries over and
// nobody is removed.
func TestExpiryCarriesSeatToAnotherCode(t *testing.T) {
	h := apptest.Start(t, store.SQLite, fastExpiry)
	teams(h, 1, 10)
	short := genCodes(t, h, 1, map[string]any{"valid_for": "1500ms"})[0]
	long := genCodes(t, h, 1, nil)[0]
	redeem(t, h, "user@example.com", short)
	waitActive(t, h, "user@example.com", short, "team-1")
	if s, r := redeem(t, h, "user@example.com", long); r.Status != 200 || s.Pool != "team-1" {
		t.Fatalf("second code: %d %s", r.Status, r.Body)
	}
	apptest.Eventually(t, 15*time.Second, "carry-over", func() bool {
		return len(history(t, h, "member=user@example.com&action=seat.carried")) == 1
	})
	time.Sleep(300 * time.Millisecond)
	if s := publicStatus(t, h, "user@example.com", long); s.State != "active" || s.Pool != "team-1" || !h.Sims.Get("team-1").Has("user@example.com") {
		t.Fatalf("after carry-over: %+v", s)
	}
	if len(history(t, h, "member=user@example.com&action=release.started")) != 0 {
		t.Fatal("a release was started despite another valid code")
	}
}

// Removal that keeps failing ends in release_failed with an alert in history.
func TestExpiryRemovalFailed(t *testing.T) {
	h := apptest.Start(t, store.SQLite, fastExpiry)
	seatUser(t, h, 1, map[string]any{"valid_for": "1500ms"})
	h.Sims.Get("team-1").SetDown(true)
	apptest.Eventually(t, 15*time.Second, "release_failed", func() bool {
		return len(history(t, h, "member=user@example.com&action=release.failed")) == 1
	})
	var seats struct{ Items []struct{ State string } }
	h.Do("GET", "/api/v1/seats?email=user@example.com", nil).JSON(t, &seats)
	if len(seats.Items) != 1 || seats.Items[0].State != "release_failed" {
		t.Fatalf("seats %+v", seats.Items)
	}
	// The seat still counts: the user may still be in the team.
	var p struct{ Used int }
	h.Do("GET", "/api/v1/pools/1", nil).JSON(t, &p)
	if p.Used != 1 {
		t.Fatalf("used %d", p.Used)
	}
}

// Batch migration: a dry run shows the plan and changes nothing; the real
// run moves everyone, make before break.
func TestBatchMigration(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	teams(h, 3, 4)
	codes := genCodes(t, h, 6, nil)
	for i, c := range codes {
		redeem(t, h, "u"+string(rune('a'+i))+"@example.com", c)
	}
	// Users without affinity go where there is most room: 2 per team.
	var plan struct {
		DryRun         bool `json:"dry_run"`
		Moving, Queued int
		Items          []struct{ Member, From, To, Status string }
	}
	h.Do("POST", "/api/v1/migrations", map[string]any{"from": []string{"team-1", "team-2"}, "to": "team-3", "dry_run": true}).MustStatus(t, 200).JSON(t, &plan)
	if !plan.DryRun || plan.Moving != 2 || plan.Queued != 2 || len(plan.Items) != 4 {
		t.Fatalf("plan %+v", plan)
	}
	if n := len(history(t, h, "action=move.started")); n != 0 {
		t.Fatalf("dry run started %d moves", n)
	}
	// Automatic target: everything off team-1 goes to teams 2 and 3.
	h.Do("POST", "/api/v1/migrations", map[string]any{"from": []string{"team-1"}}).MustStatus(t, 202).JSON(t, &plan)
	if plan.Moving != 2 {
		t.Fatalf("migration %+v", plan)
	}
	apptest.Eventually(t, 10*time.Second, "team-1 empty", func() bool {
		var p struct{ Used int }
		h.Do("GET", "/api/v1/pools/1", nil).JSON(t, &p)
		return p.Used == 0 && h.Sims.Get("team-1").Len() == 0
	})
	checkNoOverbooking(t, h)
}
