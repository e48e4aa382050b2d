package app_test

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// TestQueuePositionsAcrossReplicas: 200 users redeem at once for 50 seats,
// split across two replicas on one PostgreSQL (one berth on SQLite, which
// owns its file). Exactly 50 are seated and 150 queued, and the positions
// told to the 150 are exactly 1..150, each told once: two replicas' batches
// enqueueing at the same time must not count the queue each in its own
// snapshot (store/queue.go, QueuePush). What GET /api/v1/queue and each
// user's status say afterwards agree with what each was told.
func TestQueuePositionsAcrossReplicas(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		replicas := []*apptest.Harness{h}
		if d == store.Postgres {
			replicas = append(replicas, apptest.StartOn(t, h.DSN))
		}
		teams(h, 5, 10)
		// Arrivals spread over a few hundred milliseconds: each replica
		// runs many small batches, side by side with the other's, rather
		// than one that holds the teams' rows.
		codes := genCodes(t, h, 200, nil)
		results := redeemAtOnce(t, replicas, codes, 0, 200, func(i int) time.Duration {
			return time.Duration(i%50) * 8 * time.Millisecond
		})
		seated, queued := 0, 0
		told := map[int][]string{}
		toldBy := map[string]int{}
		for i, s := range results {
			email := fmt.Sprintf("user%d@example.com", i)
			switch s.State {
			case "pending", "active":
				seated++
			case "queued":
				queued++
				told[s.Position] = append(told[s.Position], email)
				toldBy[email] = s.Position
			default:
				t.Errorf("%s: state %q", email, s.State)
			}
		}
		var dups []string
		for p, who := range told {
			if len(who) > 1 {
				dups = append(dups, fmt.Sprintf("%d: %v", p, who))
			}
		}
		sort.Strings(dups)
		if len(dups) > 0 {
			t.Errorf("%d queue positions told to more than one user: %v", len(dups), dups)
		}
		var missing, beyond []int
		for p := 1; p <= 150; p++ {
			if len(told[p]) == 0 {
				missing = append(missing, p)
			}
		}
		for p := range told {
			if p < 1 || p > 150 {
				beyond = append(beyond, p)
			}
		}
		sort.Ints(beyond)
		if len(missing) > 0 || len(beyond) > 0 {
			t.Errorf("queue positions told to nobody: %v; told outside 1..150: %v", missing, beyond)
		}
		if seated != 50 || queued != 150 {
			t.Fatalf("seated %d, queued %d; want 50 and 150", seated, queued)
		}
		if t.Failed() {
			return
		}
		// The queue as berth lists it is the order the users were told.
		var q struct {
			Items []struct {
				Member   string
				Position int
			}
		}
		replicas[len(replicas)-1].Do("GET", "/api/v1/queue?kind=team", nil).MustStatus(t, 200).JSON(t, &q)
		if len(q.Items) != 150 {
			t.Fatalf("queue lists %d entries, want 150", len(q.Items))
		}
		for i, e := range q.Items {
			if e.Position != i+1 || toldBy[e.Member] != e.Position {
				t.Fatalf("queue entry %d: %s at position %d, told %d", i, e.Member, e.Position, toldBy[e.Member])
			}
		}
		for i := 0; i < 200; i += 7 {
			email := fmt.Sprintf("user%d@example.com", i)
			if want, ok := toldBy[email]; ok {
				if s := publicStatus(t, replicas[0], email, codes[i]); s.State != "queued" || s.Position != want {
					t.Errorf("%s: status %s at %d, told %d", email, s.State, s.Position, want)
				}
			}
		}
		checkNoOverbooking(t, h)
	})
}

// TestQueuePositionsHeldCommits makes the race of
// TestQueuePositionsAcrossReplicas certain rather than likely: with the 50
// seats taken, the test holds a lock on the history table, so each
// replica's next batch stops before its commit, after its first call has
// been queued and told its position. Counted each in its own snapshot, both
// replicas' first users were told the same place (1); with the kind's
// ticket lock the second replica's batch waits for the first one's commit
// and counts it (store/queue.go, QueuePush).
func TestQueuePositionsHeldCommits(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.Postgres)
	replicas := []*apptest.Harness{h, apptest.StartOn(t, h.DSN)}
	teams(h, 5, 10)
	codes := genCodes(t, h, 200, nil)
	crowd := func(from, to int) []seatStatus { return redeemAtOnce(t, replicas, codes, from, to, nil) }
	for i, s := range crowd(0, 50) {
		if s.State != "pending" && s.State != "active" {
			t.Fatalf("user%d: %s with 50 seats for the first 50", i, s.State)
		}
	}
	db, err := sql.Open("pgx", h.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	apptest.Eventually(t, 20*time.Second, "the 50 seats delivered", func() bool {
		var n int
		db.QueryRow(`SELECT COUNT(*) FROM seats WHERE state = 'active'`).Scan(&n)
		return n == 50
	})
	hold, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	var holder int
	if err := hold.QueryRow(`SELECT pg_backend_pid()`).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(`LOCK TABLE history IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var rest []seatStatus
	done := make(chan struct{})
	go func() { defer close(done); rest = crowd(50, 200) }()
	// Wait until both replicas' batches are stuck behind the held lock
	// (directly, or behind the other's), then let them go.
	blocked := func() int {
		rows, err := db.Query(`SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		by := map[int][]int{}
		for rows.Next() {
			var pid int
			var blockers []byte
			if err := rows.Scan(&pid, &blockers); err != nil {
				t.Fatal(err)
			}
			for _, f := range strings.FieldsFunc(string(blockers), func(r rune) bool { return r == '{' || r == '}' || r == ',' }) {
				var b int
				fmt.Sscan(f, &b)
				by[b] = append(by[b], pid)
			}
		}
		seen, todo := map[int]bool{}, []int{holder}
		for len(todo) > 0 {
			p := todo[0]
			todo = todo[1:]
			for _, w := range by[p] {
				if !seen[w] {
					seen[w] = true
					todo = append(todo, w)
				}
			}
		}
		return len(seen)
	}
	deadline := time.Now().Add(20 * time.Second)
	for blocked() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := blocked(); n < 2 {
		t.Fatalf("%d batches waiting behind the held lock, want both replicas'", n)
	}
	if err := hold.Commit(); err != nil {
		t.Fatal(err)
	}
	<-done
	told := map[int]int{}
	var dups []int
	for k, s := range rest {
		if s.State != "queued" {
			t.Fatalf("user%d: %s, want queued", 50+k, s.State)
		}
		told[s.Position]++
		if told[s.Position] == 2 {
			dups = append(dups, s.Position)
		}
	}
	sort.Ints(dups)
	if len(dups) > 0 {
		t.Errorf("%d queue positions told to more than one user: %v", len(dups), dups)
	}
	for p := 1; p <= 150; p++ {
		if told[p] != 1 {
			t.Fatalf("queue position %d told %d times, want once each of 1..150", p, told[p])
		}
	}
}
