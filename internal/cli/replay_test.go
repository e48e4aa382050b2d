package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// TestReplayVerb records a small fleet's life through the API — accounts
// placed, a pool going offline, a member queued, a seat released — and
// replays it with `berth replay` from the database, both columns checked
// by hand.
func TestReplayVerb(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		h := apptest.Start(t, d)
		w1 := h.Pool("w-1", "server", 2, 0)
		h.Pool("w-2", "server", 2, 1)
		h.Pool("w-3", "server", 2, 2)
		// Pack, as berth places: a1 a2 on w-1 (script A), b1 b2 on w-2, a3 on w-3.
		h.Import("A", apptest.Files("a", 1, 2))
		h.Import("B", apptest.Files("b", 1, 2))
		h.Import("A", apptest.Files("a", 3, 1))
		h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{w1}, "status": "offline", "message": "test"}).MustStatus(t, 200)
		// a4 takes w-3's last seat, a5 waits until b1 leaves w-2.
		if items := h.Import("A", apptest.Files("a", 4, 2)); items[0].Pool != "w-3" || items[1].Status != "queued" {
			t.Fatalf("a4, a5: %+v", items)
		}
		var seats struct{ Items []model.Seat }
		h.Do("GET", "/api/v1/seats?member=b1", nil).MustStatus(t, 200).JSON(t, &seats)
		if len(seats.Items) != 1 || seats.Items[0].Pool != "w-2" {
			t.Fatalf("b1's seats: %+v", seats.Items)
		}
		h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/release", seats.Items[0].ID), nil).MustStatus(t, 202)
		apptest.Eventually(t, 10*time.Second, "a5 placed", func() bool {
			hs, err := h.App.Store.HistoryList(ctx, store.HistoryFilter{Member: "a5", Action: model.ActPlaced})
			return err == nil && len(hs) == 1
		})
		h.App.Close(ctx) // a SQLite database has one process at a time

		out, errOut, code := run(t, nil, "replay", "--strategy", "spread", "--db", h.DSN, "-o", "json")
		if code != 0 {
			t.Fatalf("replay: %d %s", code, errOut)
		}
		var rep replayReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		// As it happened: seven arrivals, all placed, on three pools; the
		// members of the offline pool stayed there.
		a := rep.Actual
		if rep.Pools != 3 || rep.Members != 7 || a.Strategy != "actual" || a.Arrivals != 7 || a.Placed != 7 || a.StillQueued != 0 ||
			a.PoolsUsed != 3 || a.PeakUtilization != 1 || a.Moved != 0 || a.WaitP95 <= 0 {
			t.Errorf("actual: %+v (%d pools, %d members)", a, rep.Pools, rep.Members)
		}
		// Spread: a1 w-1, a2 w-2, b1 w-3, b2 w-1, a3 w-2. w-1 fails: a1 moves
		// to w-3, b2 waits; a4 and a5 find no room; b1 leaves and b2 takes
		// its seat. Two still wait at the end.
		b := rep.Replay
		if b.Strategy != "spread" || b.Arrivals != 7 || b.Placed != 5 || b.StillQueued != 2 || b.Moved != 2 || b.PoolsUsed != 3 {
			t.Errorf("spread: %+v", b)
		}

		out, errOut, code = run(t, nil, "replay", "--strategy", "pack", "--db", h.DSN)
		if code != 0 || !strings.Contains(out, "replay (pack)") || !strings.Contains(out, "7 members") ||
			!strings.Contains(out, "moved (pool failed)") || !strings.Contains(out, "queue wait p95") {
			t.Fatalf("table: %d\n%s\n%s", code, out, errOut)
		}
		// Nothing happened after an hour from now.
		out, errOut, code = run(t, nil, "replay", "--strategy", "pack", "--db", h.DSN, "--since", time.Now().Add(time.Hour).Format(time.RFC3339), "-o", "json")
		if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || rep.Since == nil || rep.Actual.Arrivals != 0 || rep.Replay.Arrivals != 0 || rep.Replay.PoolsUsed != 3 {
			t.Fatalf("since later: %d %v %s %s", code, err, out, errOut)
		}
	})
}

func TestReplayVerbUsage(t *testing.T) {
	for _, args := range [][]string{
		{"replay"},
		{"replay", "--strategy", "fastest"},
		{"replay", "--strategy", "pack", "--since", "yesterday"},
		{"replay", "--strategy", "pack", "-o", "yaml"},
		{"replay", "--strategy", "pack", "extra"},
	} {
		_, errOut, code := run(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "usage: berth replay") {
			t.Errorf("%v: %d %s", args, code, errOut)
		}
	}
	// Help needs no token and no database.
	_, errOut, code := run(t, map[string]string{"BERTH_ADMIN_TOKEN": ""}, "replay", "-h")
	if code != 0 || !strings.Contains(errOut, "-strategy") {
		t.Errorf("-h: %d %s", code, errOut)
	}
	_, errOut, code = run(t, nil, "replay", "--strategy", "pack", "--db", t.TempDir()+"/none.db")
	if code != 1 || !strings.Contains(errOut, "no SQLite database at") {
		t.Errorf("missing database: %d %s", code, errOut)
	}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"2026-12-01":           time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"2026-12-01T10:00:00Z": time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
