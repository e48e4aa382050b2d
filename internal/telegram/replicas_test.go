package telegram_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/telegram"
)

// replicaFront puts the fake Bot API behind a per-replica path prefix
// (replica r calls <url>/r/bot<token>/…), so the test knows who polls.
type replicaFront struct {
	*httptest.Server
	mu    sync.Mutex
	polls map[string]int // getUpdates calls by replica
}

func newReplicaFront(t *testing.T, api *fakeAPI) *replicaFront {
	f := &replicaFront{polls: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if strings.HasSuffix(rest, "/getUpdates") {
			f.mu.Lock()
			f.polls[rep]++
			f.mu.Unlock()
		}
		r.URL.Path = "/" + rest
		api.serve(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *replicaFront) pollCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.polls {
		out[k] = v
	}
	return out
}

func countContaining(msgs []string, want string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(m, want) {
			n++
		}
	}
	return n
}

// leaderInterval is how often the replicas try for the leader lock.
const leaderInterval = 200 * time.Millisecond

// twoReplicas starts two berths on one PostgreSQL database, each with
// Telegram configured against a fake Bot API behind a replicaFront, and
// returns the API, the front, the berths by name ("r1", "r2"), the one
// that polls (the leader) and the other one (the follower).
func twoReplicas(t *testing.T) (api *fakeAPI, front *replicaFront, replicas map[string]*apptest.Harness, leader, follower string) {
	t.Helper()
	api = newFakeAPI(t)
	front = newReplicaFront(t, api)
	withTelegram := func(rep string) func(*app.Config) {
		return func(c *app.Config) {
			tc, err := telegram.ParseConfig(token, fmt.Sprint(allowed), front.URL+"/"+rep)
			if err != nil {
				t.Fatal(err)
			}
			tc.PollTimeout, tc.AlertInterval, tc.LeaderInterval = time.Second, 100*time.Millisecond, leaderInterval
			c.Telegram = tc
		}
	}
	h1 := apptest.Start(t, store.Postgres, withTelegram("r1"))
	h2 := apptest.StartOn(t, h1.DSN, withTelegram("r2"))
	apptest.Eventually(t, 10*time.Second, "a replica polling getUpdates", func() bool {
		for rep, n := range front.pollCounts() {
			if n > 0 {
				leader = rep
				return true
			}
		}
		return false
	})
	follower = map[string]string{"r1": "r2", "r2": "r1"}[leader]
	return api, front, map[string]*apptest.Harness{"r1": h1, "r2": h2}, leader, follower
}

// Two replicas on one PostgreSQL, both with Telegram configured: only the
// one holding the leader lock polls the bot and sends alerts, so a command
// is answered once and an alert sent once. When the leader stops, the
// other takes over within a bounded time and goes on from the alerts the
// first one sent (no repeat; the resolution is sent once).
func TestTelegramOnTheLeaderReplicaOnly(t *testing.T) {
	api, front, replicas, leader, follower := twoReplicas(t)
	time.Sleep(2 * time.Second) // two poll timeouts and ten leader intervals
	if polls := front.pollCounts(); polls[follower] != 0 {
		t.Fatalf("both replicas poll the bot: %v", polls)
	}

	// A command is answered once.
	api.say(allowed, "/status")
	api.waitFor(t, allowed, "berth status")
	time.Sleep(time.Second)
	if n := countContaining(api.messages(allowed), "berth status"); n != 1 {
		t.Fatalf("/status answered %d times: %q", n, api.messages(allowed))
	}

	// An event is alerted once.
	h := replicas[leader]
	id := pool(t, h, "team-1", 5)
	setStatus(t, h, id, "banned")
	const fired, resolved = "🔴 P1 pool:team-1:banned", "✅ resolved P1 pool:team-1:banned"
	api.waitFor(t, allowed, fired)
	time.Sleep(time.Second) // ten alert intervals on each replica
	if n := countContaining(api.messages(allowed), fired); n != 1 {
		t.Fatalf("alert sent %d times: %q", n, api.messages(allowed))
	}

	// The leader stops: the other replica takes over within a bound.
	stopped := time.Now()
	if err := replicas[leader].App.Close(context.Background()); err != nil {
		t.Fatalf("stop the leader: %v", err)
	}
	before := front.pollCounts()[follower]
	apptest.Eventually(t, 5*time.Second, "the other replica polling", func() bool {
		return front.pollCounts()[follower] > before
	})
	t.Logf("the other replica polls %s after the leader stopped", time.Since(stopped).Round(time.Millisecond))
	if took := time.Since(stopped); took > 3*time.Second {
		t.Errorf("take-over took %s, want within 3s (leader interval %s)", took, leaderInterval)
	}
	afterStop := front.pollCounts()[leader]
	time.Sleep(time.Second)
	if n := countContaining(api.messages(allowed), fired); n != 1 {
		t.Fatalf("the new leader sent the alert again: %d times: %q", n, api.messages(allowed))
	}
	// It resolves the alert the first one sent, once.
	setStatus(t, replicas[follower], id, "active")
	api.waitFor(t, allowed, resolved)
	time.Sleep(time.Second)
	if n := countContaining(api.messages(allowed), resolved); n != 1 {
		t.Fatalf("resolution sent %d times: %q", n, api.messages(allowed))
	}
	// And answers commands, once.
	before = countContaining(api.messages(allowed), "berth status")
	api.say(allowed, "/status")
	apptest.Eventually(t, 10*time.Second, "the new leader answering /status", func() bool {
		return countContaining(api.messages(allowed), "berth status") > before
	})
	time.Sleep(time.Second)
	if n := countContaining(api.messages(allowed), "berth status"); n != before+1 {
		t.Fatalf("/status answered %d times after the take-over", n-before)
	}
	if n := front.pollCounts()[leader]; n != afterStop {
		t.Errorf("the stopped replica polled %d more times", n-afterStop)
	}
}

// The leader's session ends under it (a network cut, an administrator's
// pg_terminate_backend): PostgreSQL frees the lock, the leader sees its
// session gone and stops polling, and the other replica takes over.
func TestTelegramLeaderSessionLost(t *testing.T) {
	api, front, replicas, leader, follower := twoReplicas(t)
	var ended bool
	err := replicas[leader].App.Store.DB.QueryRow(`SELECT pg_terminate_backend(l.pid) FROM pg_locks l,
		(SELECT hashtextextended('berth.telegram.leader:' || current_schema(), 0) AS k) key
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		AND l.classid = ((key.k >> 32) & 4294967295)::oid AND l.objid = (key.k & 4294967295)::oid`).Scan(&ended)
	if err != nil || !ended {
		t.Fatalf("end the leader lock's session: %v %v", ended, err)
	}
	cut := time.Now()
	before := front.pollCounts()[follower]
	apptest.Eventually(t, 5*time.Second, "the other replica polling", func() bool {
		return front.pollCounts()[follower] > before
	})
	t.Logf("the other replica polls %s after the leader's session ended", time.Since(cut).Round(time.Millisecond))
	// The old leader has stopped: its poll count stands still (a poll in
	// flight ends within the 1s poll timeout).
	time.Sleep(1500 * time.Millisecond)
	stood := front.pollCounts()[leader]
	time.Sleep(2 * time.Second)
	if n := front.pollCounts()[leader]; n != stood {
		t.Fatalf("the replica that lost its session still polls (%d more polls)", n-stood)
	}
	api.say(allowed, "/status")
	api.waitFor(t, allowed, "berth status")
	time.Sleep(time.Second)
	if n := countContaining(api.messages(allowed), "berth status"); n != 1 {
		t.Fatalf("/status answered %d times", n)
	}
}
