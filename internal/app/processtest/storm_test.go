package processtest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The storm test runs the real berth binary, lets 40 public clients redeem
// codes for 300 users while they poll their status and ask to move (paid,
// and free once the admin bans a team), kills the server with SIGKILL in
// the middle of it and restarts it on the same database. The clients
// re-send what the kill cut off (redeem is idempotent: same email and code,
// same seat). After the restart every move must complete or roll back, no
// seat may stay in flight, the integrity check must find nothing, and the
// counters must add up: no pool above capacity, no code used or charged
// beyond its limits, rebind_count equal to the paid moves that stand, no
// member with two live seats, every redeemed user active or queued.
//
// Moves that wait in the queue for room are not stuck by a crash: berth
// keeps them until room frees (and 300 users for 276 seats leave none).
// Once berth is quiet the test checks that each such move really has no
// room, then the operator cancels them, which must roll them back and give
// paid rebinds back.

const (
	stormUsers    = 300
	stormTeams    = 6
	stormCapacity = 46 // per team: 276 seats for 300 users, so some queue
	stormWorkers  = 40
	stormBanAt    = 50  // redeems answered before the admin bans a team
	stormKillAt   = 100 // redeems answered before the kill
	stormBanned   = "storm-3"
	stormSettle   = 90 * time.Second
	// The server allows 20 public requests a second per address (burst
	// 40). Each client keeps below that from its own loopback address
	// (127.0.0.2, …), as users behind their own addresses would; where the
	// system has only 127.0.0.1, all of them share it, paced together.
	stormPacePerAddress = 15
	stormPaceShared     = 18
)

func TestStormCrashRedeemsAndMoves(t *testing.T) {
	// Parallel with the other long process test (storm, torture), after the
	// crash test, which times its restarts alone.
	t.Parallel()
	if testing.Short() {
		t.Skip("builds berth and kills a server process: skipped with -short")
	}
	bin := buildBerth(t)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			runStorm(t, bin, d)
		})
	}
}

// stormUser is one public user. During the storm only the goroutine that
// owns it touches it.
type stormUser struct {
	email, code string
	redeemed    bool
	first       stormSeat // the redeem answer
	pool        string    // last pool seen
	paidAsked   int
}

// stormSeat decodes the public redeem, status and rebind answers.
type stormSeat struct {
	State       string `json:"state"`
	Pool        string `json:"pool"`
	Position    int    `json:"position"`
	Moving      bool   `json:"moving"`
	FreeMove    bool   `json:"free_move"`
	Free        bool   `json:"free"`
	Message     string `json:"message"`
	RebindCount int    `json:"rebind_count"`
	RebindLimit int    `json:"rebind_limit"`
}

type stormStats struct {
	redeemOK, redeemSeated, redeemQueued, redeemResent atomic.Int64
	polls                                              atomic.Int64
	rebinds, rebindFree, rebindPaid, rebindQueued      atomic.Int64
	rebindInProgress, rebindNothing, rebindLimit       atomic.Int64
	rebindCodeRate, rebindResent                       atomic.Int64
	ipLimited, resent                                  atomic.Int64
}

// stormEndpoint is one server process's URL; replaced is closed when the
// restarted server's URL is published.
type stormEndpoint struct {
	url      string
	gen      int
	replaced chan struct{}
}

// stormClient sends the public requests of all the users.
type stormClient struct {
	ctx      context.Context
	ep       atomic.Pointer[stormEndpoint]
	st       *stormStats
	killed   atomic.Bool  // set just before the kill
	inFlight atomic.Int64 // public requests sent and not yet answered
}

// stormConn is one client's connection: its address and its pace.
type stormConn struct {
	hc  *http.Client
	lim *rate.Limiter
}

// stormConns returns n connections, each from its own loopback address
// when the system allows it, else all from 127.0.0.1 sharing one pace.
func stormConns(t *testing.T, n int) ([]stormConn, string) {
	own := true
	if ln, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		own = false
	} else {
		ln.Close()
	}
	shared := rate.NewLimiter(stormPaceShared, 4)
	out := make([]stormConn, n)
	for i := range out {
		tr := &http.Transport{MaxIdleConnsPerHost: 4}
		lim := shared
		if own {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))}, Timeout: 5 * time.Second}
			tr.DialContext = d.DialContext
			lim = rate.NewLimiter(stormPacePerAddress, 4)
		}
		t.Cleanup(tr.CloseIdleConnections)
		out[i] = stormConn{hc: &http.Client{Timeout: 30 * time.Second, Transport: tr}, lim: lim}
	}
	if own {
		return out, fmt.Sprintf("each client from its own address (127.0.0.2-%d), %d requests/s each", 1+n, stormPacePerAddress)
	}
	return out, fmt.Sprintf("all clients from 127.0.0.1, %d requests/s together", stormPaceShared)
}

func (c *stormClient) publish(u string) {
	gen := 1
	if old := c.ep.Load(); old != nil {
		gen = old.gen + 1
	}
	old := c.ep.Swap(&stormEndpoint{url: u, gen: gen, replaced: make(chan struct{})})
	if old != nil {
		close(old.replaced)
	}
}

type stormAnswer struct {
	status int
	body   []byte
	header http.Header
	resent int // times the request was re-sent because the kill cut it off
}

// public sends one public request, paced; it waits out the per-address
// limit, and re-sends the request to the restarted server when the kill
// cut it off.
func (c *stormClient) public(conn stormConn, method, path string, body any) (stormAnswer, error) {
	var a stormAnswer
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return a, err
		}
	}
	for {
		if err := conn.lim.Wait(c.ctx); err != nil {
			return a, err
		}
		ep := c.ep.Load()
		req, err := http.NewRequestWithContext(c.ctx, method, ep.url+path, bytes.NewReader(data))
		if err != nil {
			return a, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		c.inFlight.Add(1)
		resp, err := conn.hc.Do(req)
		if err == nil {
			a.body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			a.status, a.header = resp.StatusCode, resp.Header
		}
		c.inFlight.Add(-1)
		if err != nil {
			if c.ctx.Err() != nil {
				return a, c.ctx.Err()
			}
			if ep.gen > 1 || !c.killed.Load() {
				return a, fmt.Errorf("%s %s without a kill: %w", method, path, err)
			}
			// The kill cut the request off: send it again once the server
			// is back (the database decides whether it had committed).
			select {
			case <-ep.replaced:
			case <-c.ctx.Done():
				return a, c.ctx.Err()
			case <-time.After(90 * time.Second):
				return a, fmt.Errorf("%s %s: server not back 90s after the kill: %w", method, path, err)
			}
			a.resent++
			c.st.resent.Add(1)
			continue
		}
		if a.status == http.StatusTooManyRequests && strings.Contains(string(a.body), "from your address") {
			c.st.ipLimited.Add(1)
			wait, _ := strconv.Atoi(a.header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
			case <-c.ctx.Done():
				return a, c.ctx.Err()
			}
			continue
		}
		return a, nil
	}
}

// stormRun is one storm against one server.
type stormRun struct {
	c      *stormClient
	users  []*stormUser
	st     *stormStats
	banned atomic.Pointer[string]
	mu     sync.Mutex
	errs   []string
}

func (r *stormRun) errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// worker redeems its users one after the other; after a redeem it now and
// then looks at the status of one of its redeemed users and asks to move it:
// always when the move is free (the team is unhealthy), at random when it
// costs a rebind.
func (r *stormRun) worker(g int, conn stormConn, rng *rand.Rand) {
	var mine, done []*stormUser
	for i := g; i < len(r.users); i += stormWorkers {
		mine = append(mine, r.users[i])
	}
	for _, u := range mine {
		if r.c.ctx.Err() != nil {
			return
		}
		if !r.redeem(conn, u) {
			continue
		}
		done = append(done, u)
		if rng.Float64() < 0.5 {
			r.visit(conn, r.pick(done, rng), rng)
		}
	}
	for range 2 {
		if len(done) > 0 && r.c.ctx.Err() == nil {
			r.visit(conn, r.pick(done, rng), rng)
		}
	}
}

// pick chooses a redeemed user, favouring those last seen on the banned team.
func (r *stormRun) pick(done []*stormUser, rng *rand.Rand) *stormUser {
	if b := r.banned.Load(); b != nil && rng.Float64() < 0.6 {
		var on []*stormUser
		for _, u := range done {
			if u.pool == *b {
				on = append(on, u)
			}
		}
		if len(on) > 0 {
			return on[rng.IntN(len(on))]
		}
	}
	return done[rng.IntN(len(done))]
}

func (r *stormRun) redeem(conn stormConn, u *stormUser) bool {
	a, err := r.c.public(conn, "POST", "/api/v1/public/redeem", map[string]string{"email": u.email, "code": u.code})
	if err != nil {
		if r.c.ctx.Err() == nil {
			r.errorf("redeem %s: %v", u.email, err)
		}
		return false
	}
	if a.resent > 0 {
		r.st.redeemResent.Add(1)
	}
	if a.status != http.StatusOK {
		r.errorf("redeem %s (re-sent %d times): %d %s", u.email, a.resent, a.status, a.body)
		return false
	}
	var s stormSeat
	if err := json.Unmarshal(a.body, &s); err != nil {
		r.errorf("redeem %s: %v: %s", u.email, err, a.body)
		return false
	}
	switch s.State {
	case "pending", "active":
		r.st.redeemSeated.Add(1)
	case "queued":
		r.st.redeemQueued.Add(1)
	default:
		r.errorf("redeem %s answered state %q: %s", u.email, s.State, a.body)
		return false
	}
	u.redeemed, u.first, u.pool = true, s, s.Pool
	r.st.redeemOK.Add(1)
	return true
}

func (r *stormRun) visit(conn stormConn, u *stormUser, rng *rand.Rand) {
	a, err := r.c.public(conn, "GET", "/api/v1/public/status?email="+url.QueryEscape(u.email)+"&code="+url.QueryEscape(u.code), nil)
	if err != nil {
		if r.c.ctx.Err() == nil {
			r.errorf("status %s: %v", u.email, err)
		}
		return
	}
	r.st.polls.Add(1)
	var s stormSeat
	if a.status != http.StatusOK || json.Unmarshal(a.body, &s) != nil {
		r.errorf("status %s: %d %s", u.email, a.status, a.body)
		return
	}
	if s.Pool != "" {
		u.pool = s.Pool
	}
	if s.State != "active" || s.Moving {
		return
	}
	if !s.FreeMove {
		if u.paidAsked >= 2 || rng.Float64() >= 0.6 {
			return
		}
		u.paidAsked++
	}
	r.rebind(conn, u)
}

func (r *stormRun) rebind(conn stormConn, u *stormUser) {
	a, err := r.c.public(conn, "POST", "/api/v1/public/rebind", map[string]string{"email": u.email, "code": u.code})
	if err != nil {
		if r.c.ctx.Err() == nil {
			r.errorf("rebind %s: %v", u.email, err)
		}
		return
	}
	r.st.rebinds.Add(1)
	if a.resent > 0 {
		r.st.rebindResent.Add(1)
	}
	body := string(a.body)
	switch a.status {
	case http.StatusOK:
		var s stormSeat
		if err := json.Unmarshal(a.body, &s); err != nil {
			r.errorf("rebind %s: %v: %s", u.email, err, body)
			return
		}
		if s.RebindCount > s.RebindLimit {
			r.errorf("rebind %s: answered %d of %d rebinds used", u.email, s.RebindCount, s.RebindLimit)
		}
		switch {
		case strings.Contains(s.Message, "already in progress"):
			r.st.rebindInProgress.Add(1)
		case strings.Contains(s.Message, "nothing to move"):
			r.st.rebindNothing.Add(1)
		default:
			if s.Free {
				r.st.rebindFree.Add(1)
			} else {
				r.st.rebindPaid.Add(1)
			}
			if s.State == "queued" {
				r.st.rebindQueued.Add(1)
			}
		}
	case http.StatusConflict:
		if !strings.Contains(body, "rebind limit reached") {
			r.errorf("rebind %s: %d %s", u.email, a.status, body)
		}
		r.st.rebindLimit.Add(1)
	case http.StatusTooManyRequests: // 3 move requests a minute per code: an answer, not a failure
		if !strings.Contains(body, "move requests for this code") || a.header.Get("Retry-After") == "" {
			r.errorf("rebind %s: %d (Retry-After %q) %s", u.email, a.status, a.header.Get("Retry-After"), body)
		}
		r.st.rebindCodeRate.Add(1)
	default:
		r.errorf("rebind %s (re-sent %d times): %d %s", u.email, a.resent, a.status, body)
	}
}

// stormDB reads the server's database beside it.
type stormDB struct {
	*sql.DB
	d store.Dialect
}

func openStormDB(t *testing.T, d store.Dialect, dsn string) stormDB {
	t.Helper()
	if d == store.SQLite {
		return stormDB{openReadOnly(t, dsn), d}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	t.Cleanup(func() { db.Close() })
	return stormDB{db, d}
}

// read runs fn in one read transaction: one consistent view.
func (db stormDB) read(fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if db.d == store.Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := db.BeginTx(context.Background(), opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// stormState is one consistent look at the database.
type stormState struct {
	Members    map[string]int // by state
	Seats      map[string]int // by state
	Moves      map[string]int // by state
	Paid, Free int            // moves by kind, any state
	Queue      int
	QueueMoves int
	Jobs       map[string]int // delivery, removal and drain jobs not finished, by kind/state
}

func (s stormState) inFlight() int {
	return s.Seats["reserved"] + s.Seats["provisioning"] + s.Seats["releasing"]
}

func (s stormState) String() string {
	return fmt.Sprintf("members %v; seats %v; moves %v (paid %d, free %d); queue %d (%d moves); jobs not finished %v",
		s.Members, s.Seats, s.Moves, s.Paid, s.Free, s.Queue, s.QueueMoves, s.Jobs)
}

func groupCount(tx *sql.Tx, query string) (map[string]int, error) {
	out := map[string]int{}
	err := eachRow(tx, query, func(rows *sql.Rows) error {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		out[k] = n
		return nil
	})
	return out, err
}

func (db stormDB) snapshot() (stormState, error) {
	var s stormState
	err := db.read(func(tx *sql.Tx) error {
		var err error
		if s.Members, err = groupCount(tx, `SELECT state, COUNT(*) FROM members GROUP BY state`); err != nil {
			return err
		}
		if s.Seats, err = groupCount(tx, `SELECT state, COUNT(*) FROM seats GROUP BY state`); err != nil {
			return err
		}
		if s.Moves, err = groupCount(tx, `SELECT state, COUNT(*) FROM moves GROUP BY state`); err != nil {
			return err
		}
		if s.Jobs, err = groupCount(tx, `SELECT kind || '/' || state, COUNT(*) FROM river_job
			WHERE kind IN ('deliver', 'deliver_batch', 'remove', 'drain_queue') AND state NOT IN ('completed', 'cancelled', 'discarded')
			GROUP BY kind, state`); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT
			(SELECT COUNT(*) FROM moves WHERE paid = 1),
			(SELECT COUNT(*) FROM moves WHERE paid = 0),
			(SELECT COUNT(*) FROM queue),
			(SELECT COUNT(*) FROM queue WHERE is_move = 1)`).Scan(&s.Paid, &s.Free, &s.Queue, &s.QueueMoves)
	})
	return s, err
}

// killWatch counts all moves, the pending ones, and the deliveries and
// removals running.
func (db stormDB) killWatch() (moves, pending, running int, err error) {
	err = db.QueryRow(`SELECT (SELECT COUNT(*) FROM moves), (SELECT COUNT(*) FROM moves WHERE state = 'pending'),
		(SELECT COUNT(*) FROM river_job WHERE kind IN ('deliver', 'deliver_batch', 'remove') AND state = 'running')`).Scan(&moves, &pending, &running)
	return moves, pending, running, err
}

type stormPool struct {
	ID                      int64
	Name, Status            string
	Capacity, Used, Counted int
	Active                  map[string]bool // members with an active seat here
	Files                   map[string]bool // members the simulated team holds
	leftovers               int
}

func (db stormDB) pools() (map[int64]*stormPool, error) {
	out := map[int64]*stormPool{}
	err := db.read(func(tx *sql.Tx) error {
		err := eachRow(tx, `SELECT p.id, p.name, p.status, p.capacity, p.used,
			(SELECT COUNT(*) FROM seats s WHERE s.pool_id = p.id AND s.state NOT IN ('released', 'failed'))
			FROM pools p`, func(rows *sql.Rows) error {
			p := &stormPool{Active: map[string]bool{}, Files: map[string]bool{}}
			if err := rows.Scan(&p.ID, &p.Name, &p.Status, &p.Capacity, &p.Used, &p.Counted); err != nil {
				return err
			}
			out[p.ID] = p
			return nil
		})
		if err != nil {
			return err
		}
		return eachRow(tx, `SELECT s.pool_id, m.external_id FROM seats s JOIN members m ON m.id = s.member_id WHERE s.state = 'active'`, func(rows *sql.Rows) error {
			var id int64
			var member string
			if err := rows.Scan(&id, &member); err != nil {
				return err
			}
			out[id].Active[member] = true
			return nil
		})
	})
	return out, err
}

func runStorm(t *testing.T, bin string, d store.Dialect) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "berth.db")
	if d == store.Postgres {
		dsn = storetest.DSN(t, d) // skips when BERTH_TEST_POSTGRES_URL is unset
	}
	srv := &crashServer{t: t, bin: bin, dir: dir, db: dsn, key: randomKey(t)}
	srv.start()
	db := openStormDB(t, d, dsn)

	ids := map[string]int64{}
	for i := 1; i <= stormTeams; i++ {
		name := fmt.Sprintf("storm-%d", i)
		code, body, err := srv.do("POST", "/api/v1/pools", map[string]any{
			"name": name, "kind": "team", "capacity": stormCapacity, "priority": i,
			"provider": map[string]any{"type": "sim", "latency_ms": 30, "dir": filepath.Join(dir, name)},
		})
		var p struct{ ID int64 }
		if err != nil || code != http.StatusCreated || json.Unmarshal(body, &p) != nil {
			t.Fatalf("create pool %s: %d %s %v", name, code, body, err)
		}
		ids[name] = p.ID
	}
	code, body, err := srv.do("POST", "/api/v1/codes/batch", map[string]any{"count": stormUsers, "max_uses": 1, "valid_for": "720h", "rebind_limit": 3})
	var gen struct{ Codes []string }
	if err != nil || code != http.StatusCreated || json.Unmarshal(body, &gen) != nil || len(gen.Codes) != stormUsers {
		t.Fatalf("generate codes: %d %v %.200s", code, err, body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	st := &stormStats{}
	conns, how := stormConns(t, stormWorkers+1)
	run := &stormRun{st: st, c: &stormClient{ctx: ctx, st: st}}
	for i, c := range gen.Codes {
		run.users = append(run.users, &stormUser{email: fmt.Sprintf("storm%03d@example.com", i), code: c})
	}
	run.c.publish(srv.url)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d; %s", seed, how)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	start := time.Now()
	for g := range stormWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.worker(g, conns[g], rand.New(rand.NewPCG(seed, uint64(g))))
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	// Ban a team midway, then kill the server once enough redeems are
	// answered, with requests in flight, moves pending and deliveries or
	// removals running (or, failing that moment, once most redeems are
	// answered and any move exists).
	var atKill stormState
	var killedAfter time.Duration
	var redeemsAtKill, inFlightAtKill int64
	var runningAtKill int
	banned := false
	for {
		select {
		case <-finished:
			srv.kill()
			t.Fatalf("the storm ended before the kill (%d redeems answered)", st.redeemOK.Load())
		default:
		}
		n := st.redeemOK.Load()
		if !banned && n >= stormBanAt {
			code, body, err := srv.do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids[stormBanned]}, "status": "banned", "message": "storm: banned"})
			if err != nil || code != http.StatusOK || !strings.Contains(string(body), `"success_count": 1`) {
				cancel()
				t.Fatalf("ban %s: %d %v %s", stormBanned, code, err, body)
			}
			name := stormBanned
			run.banned.Store(&name)
			banned = true
			t.Logf("banned %s after %s, %d redeems answered", stormBanned, time.Since(start).Round(time.Millisecond), n)
		}
		if banned && n >= stormKillAt {
			moves, pending, running, err := db.killWatch()
			if err != nil {
				cancel()
				t.Fatalf("watch moves: %v", err)
			}
			inFlight := run.c.inFlight.Load()
			if (moves >= 5 && pending >= 2 && running >= 1 && inFlight >= 3) || (n >= 200 && moves >= 1) {
				run.c.killed.Store(true)
				srv.kill()
				killedAfter, redeemsAtKill, inFlightAtKill, runningAtKill = time.Since(start), st.redeemOK.Load(), inFlight, running
				break
			}
		}
		if time.Since(start) > 60*time.Second {
			cancel()
			srv.kill()
			t.Fatalf("no moment to kill within 60s: %d redeems answered", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if atKill, err = db.snapshot(); err != nil {
		t.Fatalf("snapshot after the kill: %v", err)
	}
	t.Logf("killed after %s, %d redeems answered, %d requests in flight, %d jobs running; durable state: %s",
		killedAfter.Round(time.Millisecond), redeemsAtKill, inFlightAtKill, runningAtKill, atKill)

	// Restart on the same database; the clients carry on and re-send what
	// the kill cut off.
	restart := time.Now()
	srv.start()
	run.c.publish(srv.url)
	t.Logf("restarted in %s", time.Since(restart).Round(time.Millisecond))
	select {
	case <-finished:
	case <-time.After(3 * time.Minute):
		cancel()
		t.Fatalf("the storm did not end within 3 minutes of the restart")
	}
	stormEnd := time.Now()
	for _, e := range run.errs {
		t.Error(e)
	}
	redeemed := 0
	for _, u := range run.users {
		if u.redeemed {
			redeemed++
		}
	}
	if redeemed != stormUsers {
		t.Errorf("%d of %d users redeemed", redeemed, stormUsers)
	}

	// Let berth go quiet: nothing in flight, no job left to run.
	deadline := stormEnd.Add(stormSettle)
	var quiet stormState
	quietOK := false
	for {
		if quiet, err = db.snapshot(); err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		if quiet.inFlight() == 0 && len(quiet.Jobs) == 0 {
			quietOK = true
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("not quiet %s after the storm: %s", stormSettle, quiet)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	quietAt := time.Now()
	if quietOK {
		t.Logf("quiet %s after the restart: %s", quietAt.Sub(restart).Round(time.Millisecond), quiet)
	}

	// Whoever waits in the queue must have no room; moves waiting for room
	// are then cancelled by the operator (rolled back, rebind given back).
	cancelled := stormCheckWaiting(t, srv, db, quietOK)

	// Settle: every move done, failed or cancelled, nothing in flight, and
	// the integrity check clean.
	var final stormState
	var report struct {
		Orphans     []json.RawMessage `json:"orphans"`
		Overbooked  []json.RawMessage `json:"overbooked"`
		ZombieMoves []json.RawMessage `json:"zombie_moves"`
		Drift       []json.RawMessage `json:"drift"`
	}
	var reportBody []byte
	settled := false
	var stuck string // the findings while berth is quiet
	var stuckSince time.Time
	for {
		if final, err = db.snapshot(); err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		if final.Moves["pending"] == 0 && final.inFlight() == 0 && final.QueueMoves == 0 {
			code, body, err := srv.do("GET", "/api/v1/integrity?grace=1s&zombie_after=1m", nil)
			if err != nil || code != http.StatusOK {
				t.Fatalf("integrity: %d %v %s", code, err, body)
			}
			reportBody = body
			if err := json.Unmarshal(body, &report); err != nil {
				t.Fatalf("integrity answer: %v: %s", err, body)
			}
			if report.Orphans != nil && len(report.Orphans)+len(report.Overbooked)+len(report.ZombieMoves)+len(report.Drift) == 0 {
				settled = true
				break
			}
			// Quiet, yet the check finds something: nothing left to run
			// will change it; stop once it has stayed the same for 10s.
			findings := fmt.Sprintf("%d %d %d %d %s", len(report.Orphans), len(report.Overbooked), len(report.ZombieMoves), len(report.Drift), final)
			if len(final.Jobs) > 0 || findings != stuck {
				stuck, stuckSince = findings, time.Now()
			} else if time.Since(stuckSince) > 10*time.Second {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	settledAt := time.Now()
	if !settled {
		t.Errorf("not settled %s after the storm: %s; integrity: %s", settledAt.Sub(stormEnd).Round(time.Millisecond), final, reportBody)
		stormLogPending(t, db)
	}

	pools := stormCheckOutcome(t, db, dir, run)
	stormCheckPublic(t, run, conns[stormWorkers], db)

	// What happened.
	var b strings.Builder
	row := func(k, f string, args ...any) { fmt.Fprintf(&b, "  %-22s "+f+"\n", append([]any{k}, args...)...) }
	fmt.Fprintf(&b, "storm on %s: %d users, %d teams of %d seats (%s banned), %d clients, %s\n", d, stormUsers, stormTeams, stormCapacity, stormBanned, stormWorkers, how)
	row("redeems ok", "%d: seated %d, queued %d; re-sent after the kill %d", st.redeemOK.Load(), st.redeemSeated.Load(), st.redeemQueued.Load(), st.redeemResent.Load())
	row("status polls", "%d", st.polls.Load())
	row("rebind requests", "%d: moves free %d, paid %d (queued for room %d); already moving %d, nothing to move %d, limit reached %d, 3/min limit %d; re-sent after the kill %d",
		st.rebinds.Load(), st.rebindFree.Load(), st.rebindPaid.Load(), st.rebindQueued.Load(), st.rebindInProgress.Load(), st.rebindNothing.Load(),
		st.rebindLimit.Load(), st.rebindCodeRate.Load(), st.rebindResent.Load())
	row("client", "%d requests re-sent after the kill, %d per-address 429s waited out", st.resent.Load(), st.ipLimited.Load())
	row("at the kill", "after %s, %d redeems answered, %d requests in flight, %d jobs running", killedAfter.Round(time.Millisecond), redeemsAtKill, inFlightAtKill, runningAtKill)
	row("  durable state", "%s", atKill)
	row("storm ended", "%s after the restart", stormEnd.Sub(restart).Round(time.Millisecond))
	row("quiet", "%s after the restart: %s", quietAt.Sub(restart).Round(time.Millisecond), quiet)
	row("moves cancelled", "%d waiting for room, by the operator", cancelled)
	row("settled", "%v, %s after the restart (%s after the storm)", settled, settledAt.Sub(restart).Round(time.Millisecond), settledAt.Sub(stormEnd).Round(time.Millisecond))
	row("final", "%s", final)
	names := make([]string, 0, len(pools))
	for _, p := range pools {
		names = append(names, fmt.Sprintf("%s %s %d/%d", p.Name, p.Status, p.Used, p.Capacity))
	}
	sort.Strings(names)
	row("teams", "%s", strings.Join(names, ", "))
	t.Log("\n" + b.String())
}

// stormCheckWaiting checks that every queue entry waits for want of room
// and cancels the moves among them (admin), returning how many it cancelled.
// Pending moves must each be either in flight or waiting in the queue.
func stormCheckWaiting(t *testing.T, srv *crashServer, db stormDB, quiet bool) int {
	t.Helper()
	type entry struct {
		member   string
		move     bool
		fromPool int64
	}
	var entries []entry
	var unexplained []string
	pools, err := db.pools()
	if err != nil {
		t.Fatalf("pools: %v", err)
	}
	err = db.read(func(tx *sql.Tx) error {
		err := eachRow(tx, `SELECT m.external_id, q.is_move, COALESCE(s.pool_id, 0)
			FROM queue q JOIN members m ON m.id = q.member_id LEFT JOIN seats s ON s.id = q.from_seat ORDER BY q.id`, func(rows *sql.Rows) error {
			var e entry
			var move int
			if err := rows.Scan(&e.member, &move, &e.fromPool); err != nil {
				return err
			}
			e.move = move == 1
			entries = append(entries, e)
			return nil
		})
		if err != nil {
			return err
		}
		// A pending move is explained by its queue entry or by a target
		// seat still in flight.
		return eachRow(tx, `SELECT mv.id, m.external_id, mv.from_seat, COALESCE(mv.to_seat, 0), COALESCE(t.state, ''), mv.paid
			FROM moves mv JOIN members m ON m.id = mv.member_id LEFT JOIN seats t ON t.id = mv.to_seat
			WHERE mv.state = 'pending'
			AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.from_seat = mv.from_seat)
			AND COALESCE(t.state, '') NOT IN ('reserved', 'provisioning')`, func(rows *sql.Rows) error {
			var id, from, to int64
			var member, state string
			var paid int
			if err := rows.Scan(&id, &member, &from, &to, &state, &paid); err != nil {
				return err
			}
			unexplained = append(unexplained, fmt.Sprintf("move %d of %s off seat %d: target seat %d is %q, no queue entry (paid %d)", id, member, from, to, state, paid))
			return nil
		})
	})
	if err != nil {
		t.Fatalf("queue: %v", err)
	}
	for _, u := range unexplained {
		if quiet {
			t.Errorf("pending move neither in flight nor queued: %s", u)
		}
	}
	var moves []string
	for _, e := range entries {
		if e.move {
			moves = append(moves, e.member)
		}
		if !quiet {
			continue // room may be on its way
		}
		for _, p := range pools {
			if p.Status == "active" && p.Used < p.Capacity && p.ID != e.fromPool {
				t.Errorf("%s waits in the queue (move %v) although %s has room (%d/%d) and berth is quiet", e.member, e.move, p.Name, p.Used, p.Capacity)
				break
			}
		}
	}
	cancelled := 0
	for _, m := range moves {
		code, body, err := srv.do("DELETE", "/api/v1/queue/team/"+url.PathEscape(m), nil)
		switch {
		case err == nil && code == http.StatusNoContent:
			cancelled++
		case err == nil && code == http.StatusNotFound && !quiet:
			// placed meanwhile: it will complete
		default:
			t.Errorf("cancel the queued move of %s: %d %v %s", m, code, err, body)
		}
	}
	return cancelled
}

// stormCheckOutcome asserts the invariants on the settled database and the
// simulated teams' directories.
func stormCheckOutcome(t *testing.T, db stormDB, dir string, run *stormRun) map[int64]*stormPool {
	t.Helper()
	pools, err := db.pools()
	if err != nil {
		t.Fatalf("pools: %v", err)
	}
	for _, p := range pools {
		if p.Used > p.Capacity || p.Counted > p.Capacity {
			t.Errorf("team %s over capacity: used %d, seats counted %d, capacity %d", p.Name, p.Used, p.Counted, p.Capacity)
		}
		if p.Used != p.Counted {
			t.Errorf("team %s: used %d but %d seats count", p.Name, p.Used, p.Counted)
		}
		// The simulated team keeps its members as files: they must be
		// exactly the members with an active seat there.
		entries, err := os.ReadDir(filepath.Join(dir, p.Name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("team dir %s: %v", p.Name, err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				p.leftovers++ // a Put cut off by the kill: never renamed into place
				continue
			}
			p.Files[e.Name()] = true
			if !p.Active[e.Name()] {
				t.Errorf("%s is in team %s but has no active seat there", e.Name(), p.Name)
			}
		}
		for m := range p.Active {
			if !p.Files[m] {
				t.Errorf("%s has an active seat on %s but the team does not hold it", m, p.Name)
			}
		}
		if p.leftovers > 0 {
			t.Logf("team %s: %d temporary files left by Puts cut off by the kill", p.Name, p.leftovers)
		}
	}

	type member struct {
		state                          string
		active, live, queued, queueMov int
		pool                           string
	}
	members := map[string]member{}
	type code struct {
		id, used, maxUses, rebinds, limit, charged int
		email                                      string
	}
	var codes []code
	var badSeats []string
	err = db.read(func(tx *sql.Tx) error {
		err := eachRow(tx, `SELECT m.external_id, m.state,
			(SELECT COUNT(*) FROM seats s WHERE s.member_id = m.id AND s.state = 'active'),
			(SELECT COUNT(*) FROM seats s WHERE s.member_id = m.id AND s.state NOT IN ('released', 'failed')),
			(SELECT COUNT(*) FROM queue q WHERE q.member_id = m.id AND q.is_move = 0),
			(SELECT COUNT(*) FROM queue q WHERE q.member_id = m.id AND q.is_move = 1),
			COALESCE((SELECT p.name FROM seats s JOIN pools p ON p.id = s.pool_id WHERE s.member_id = m.id AND s.state = 'active' ORDER BY s.id DESC LIMIT 1), '')
			FROM members m WHERE m.kind = 'team'`, func(rows *sql.Rows) error {
			var id string
			var m member
			if err := rows.Scan(&id, &m.state, &m.active, &m.live, &m.queued, &m.queueMov, &m.pool); err != nil {
				return err
			}
			members[id] = m
			return nil
		})
		if err != nil {
			return err
		}
		err = eachRow(tx, `SELECT c.id, c.bound_email, c.used_count, c.max_uses, c.rebind_count, c.rebind_limit,
			(SELECT COUNT(*) FROM moves mv WHERE mv.code_id = c.id AND mv.paid = 1 AND mv.state IN ('pending', 'done'))
			FROM codes c ORDER BY c.id`, func(rows *sql.Rows) error {
			var c code
			if err := rows.Scan(&c.id, &c.email, &c.used, &c.maxUses, &c.rebinds, &c.limit, &c.charged); err != nil {
				return err
			}
			codes = append(codes, c)
			return nil
		})
		if err != nil {
			return err
		}
		return eachRow(tx, `SELECT s.id, m.external_id, s.state FROM seats s JOIN members m ON m.id = s.member_id
			WHERE s.state NOT IN ('active', 'released', 'failed')`, func(rows *sql.Rows) error {
			var id int64
			var m, state string
			if err := rows.Scan(&id, &m, &state); err != nil {
				return err
			}
			badSeats = append(badSeats, fmt.Sprintf("seat %d of %s is %s", id, m, state))
			return nil
		})
	})
	if err != nil {
		t.Fatalf("read outcome: %v", err)
	}
	for _, s := range badSeats {
		t.Errorf("after settling: %s", s)
	}

	// Codes: within their limits, and rebind_count is what the standing
	// paid moves charged.
	bound := map[string]int{}
	for _, c := range codes {
		if c.used > c.maxUses {
			t.Errorf("code %d used %d times, max %d", c.id, c.used, c.maxUses)
		}
		if c.rebinds > c.limit {
			t.Errorf("code %d: rebind_count %d above its limit %d", c.id, c.rebinds, c.limit)
		}
		if c.rebinds != c.charged {
			t.Errorf("code %d (%s): rebind_count %d, but %d paid moves pending or done", c.id, c.email, c.rebinds, c.charged)
		}
		if c.email != "" {
			bound[c.email]++
			if c.used != 1 {
				t.Errorf("code %d bound to %s is used %d times, want 1", c.id, c.email, c.used)
			}
		}
	}

	// Members: one live seat at most; every redeemed user active (one
	// active seat) or queued (no seat, one queue entry).
	states := map[string]int{}
	for id, m := range members {
		if m.live > 1 {
			t.Errorf("%s holds %d live seats", id, m.live)
		}
		if m.queueMov > 0 {
			t.Errorf("%s still waits to move", id)
		}
	}
	for _, u := range run.users {
		if !u.redeemed {
			continue
		}
		if bound[u.email] != 1 {
			t.Errorf("%s redeemed but %d codes are bound to it", u.email, bound[u.email])
		}
		m, ok := members[u.email]
		switch {
		case !ok:
			t.Errorf("%s redeemed (%s %s) but is not a member", u.email, u.first.State, u.first.Pool)
		case m.state == "placed" && m.active == 1 && m.live == 1 && m.queued == 0:
			states["active"]++
		case m.state == "queued" && m.live == 0 && m.queued == 1:
			states["queued"]++
			if u.first.State != "queued" {
				t.Errorf("%s got a seat (%s on %s) and is queued now", u.email, u.first.State, u.first.Pool)
			}
		default:
			t.Errorf("%s redeemed (%s %s) but is %s with %d active, %d live seats and %d queue entries",
				u.email, u.first.State, u.first.Pool, m.state, m.active, m.live, m.queued)
		}
	}
	if len(members) != stormUsers || len(bound) != stormUsers {
		t.Errorf("%d members, %d bound codes; want %d each", len(members), len(bound), stormUsers)
	}
	t.Logf("redeemed users now: %v", states)
	return pools
}

// stormCheckPublic asks the public status of a sample of users and checks
// it agrees with the database.
func stormCheckPublic(t *testing.T, run *stormRun, conn stormConn, db stormDB) {
	t.Helper()
	pools, err := db.pools()
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]string{}
	for _, p := range pools {
		for m := range p.Active {
			where[m] = p.Name
		}
	}
	for i := 0; i < stormUsers; i += 10 {
		u := run.users[i]
		a, err := run.c.public(conn, "GET", "/api/v1/public/status?email="+url.QueryEscape(u.email)+"&code="+url.QueryEscape(u.code), nil)
		var s stormSeat
		if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &s) != nil {
			t.Errorf("status of %s: %d %v %s", u.email, a.status, err, a.body)
			continue
		}
		want := "queued"
		if where[u.email] != "" {
			want = "active"
		}
		if s.State != want || s.Pool != where[u.email] || s.Moving || (want == "queued") != (s.Position > 0) {
			t.Errorf("status of %s: %+v; the database has it %s on %q", u.email, s, want, where[u.email])
		}
	}
}

// stormLogPending logs the moves still pending and the seats in flight.
func stormLogPending(t *testing.T, db stormDB) {
	t.Helper()
	rows, err := db.Query(`SELECT mv.id, m.external_id, mv.from_seat, COALESCE(f.state, ''), COALESCE(mv.to_seat, 0), COALESCE(s.state, ''), mv.paid, mv.reason
		FROM moves mv JOIN members m ON m.id = mv.member_id LEFT JOIN seats f ON f.id = mv.from_seat LEFT JOIN seats s ON s.id = mv.to_seat
		WHERE mv.state = 'pending' ORDER BY mv.id`)
	if err != nil {
		t.Logf("pending moves: %v", err)
		return
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, from, to int64
		var member, fromState, toState, reason string
		var paid int
		if err := rows.Scan(&id, &member, &from, &fromState, &to, &toState, &paid, &reason); err != nil {
			t.Logf("pending moves: %v", err)
			return
		}
		lines = append(lines, fmt.Sprintf("move %d %s: seat %d (%s) → seat %d (%s), paid %d, %s", id, member, from, fromState, to, toState, paid, reason))
	}
	if len(lines) > 0 {
		t.Logf("%d pending moves:\n%s", len(lines), strings.Join(lines[:min(len(lines), 30)], "\n"))
	}
	// And why the jobs not finished are not: their attempts and errors.
	// River keeps errors as jsonb on SQLite (since v0.40): json() reads it as text.
	errsCol := "CAST(errors AS TEXT)"
	if db.d == store.SQLite {
		errsCol = "json(errors)"
	}
	jobs, err := db.Query(`SELECT id, kind, state, attempt, COALESCE(` + errsCol + `, '') FROM river_job
		WHERE kind IN ('deliver', 'deliver_batch', 'remove', 'drain_queue') AND state NOT IN ('completed', 'cancelled', 'discarded')
		ORDER BY id LIMIT 30`)
	if err != nil {
		t.Logf("jobs not finished: %v", err)
		return
	}
	defer jobs.Close()
	for jobs.Next() {
		var id int64
		var attempt int
		var kind, state, errs string
		if err := jobs.Scan(&id, &kind, &state, &attempt, &errs); err != nil {
			t.Logf("jobs not finished: %v", err)
			return
		}
		t.Logf("job %d %s %s, attempt %d, errors: %.2000s", id, kind, state, attempt, errs)
	}
}
