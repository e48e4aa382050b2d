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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/crashpoint"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The torture test (docs/reliability.md) runs berth replicas as real
// processes on one database (2 on PostgreSQL, 1 on SQLite), drives batch
// imports, seat releases, redeems, rebinds and pool status changes at them,
// and kills replicas over and over: at named crash points (the replica is
// restarted with BERTH_CRASH_AT=<point>:<n> and dies by SIGKILL when it gets
// there, see internal/crashpoint) and at random moments. Clients re-send
// what a kill cut off to any replica up. After every kill the durable state
// is checked for what must hold at every commit; at the end the load stops,
// berth must settle within a bound, and then every invariant is checked and
// GET /api/v1/integrity must report nothing.
//
// BERTH_TORTURE_DURATION sets how long the load runs (default 2m; the
// settle time and checks come on top).

const (
	tortureToken       = "torture-admin-token-0123456789abcdef"
	tortureDefault     = 2 * time.Minute
	tortureSettle      = 120 * time.Second
	tortureServers     = 3
	tortureServerCap   = 60
	tortureTeams       = 4
	tortureTeamCap     = 45 // 180 seats for 120 users: every move finds room
	tortureUsers       = 120
	tortureUserWorkers = 12
	tortureArmedWait   = 20 * time.Second // an armed replica not dead by then is killed at random
)

func TestTortureReplicasUnderKills(t *testing.T) {
	// Parallel with the other long process test (storm, torture), after the
	// crash test, which times its restarts alone.
	t.Parallel()
	if testing.Short() {
		t.Skip("builds berth and kills server processes: skipped with -short")
	}
	dur := tortureDefault
	if v := os.Getenv("BERTH_TORTURE_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("BERTH_TORTURE_DURATION: %v", err)
		}
		dur = d
	}
	bin := buildBerth(t)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			replicas := 1 // SQLite serves one node
			if d == store.Postgres {
				replicas = 2
			}
			runTorture(t, bin, d, replicas, dur)
		})
	}
}

// tReplica is one `berth serve` process, restarted over and over.
type tReplica struct {
	t              *testing.T
	idx            int
	bin, dsn, key  string
	dir            string
	mu             sync.Mutex
	url            string // "" while down
	cmd            *exec.Cmd
	exited         chan struct{}
	starts         int
	logs           []string
	selfKilled     bool // the last run died at its crash point
	startFailures  int
	lastStartError string
}

func (r *tReplica) URL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.url
}

// start runs the replica, armed at crashAt ("" = not armed), and waits for
// it to be ready. The replica may die at its crash point while starting
// (the crash sweep places members): that is reported as died.
func (r *tReplica) start(crashAt string) (died bool, err error) {
	r.starts++
	logPath := filepath.Join(r.dir, fmt.Sprintf("replica%d-%03d.log", r.idx, r.starts))
	r.logs = append(r.logs, logPath)
	// A retryable delivery failure is retried for BERTH_DELIVERY_RETRY_FOR
	// (6h by default) before the seat is given up; the harness shortens it
	// so srv-0's failures (70 %) still run out within the run and the
	// "delivery failed, placed elsewhere" path is exercised under kills.
	env := []string{"BERTH_ADMIN_TOKEN=" + tortureToken, "BERTH_SECRET_KEY=" + r.key,
		"BERTH_JOB_TIMEOUT=" + crashJobTimeout, "BERTH_JOB_RESCUE_AFTER=" + crashRescueAfter,
		"BERTH_DELIVERY_RETRY_FOR=10s"}
	if crashAt != "" {
		env = append(env, crashpoint.Env+"="+crashAt)
	}
	p, err := spawnBerth(r.bin, r.dsn, logPath, env, func(log io.Writer, state *os.ProcessState) {
		fmt.Fprintf(log, "torture: process ended: %v\n", state)
		r.mu.Lock()
		r.url = ""
		r.mu.Unlock()
	})
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	r.cmd, r.exited, r.selfKilled = p.cmd, p.exited, false
	r.mu.Unlock()
	u, err := p.ready(60*time.Second, 20*time.Second)
	if err != nil {
		select {
		case <-p.exited:
			return r.diedAtPoint(), fmt.Errorf("replica %d: %w", r.idx, err)
		default:
			r.kill()
			return false, fmt.Errorf("replica %d: %w", r.idx, err)
		}
	}
	r.mu.Lock()
	r.url = u
	r.mu.Unlock()
	return false, nil
}

// diedAtPoint reports whether the process ended by SIGKILL it sent itself.
func (r *tReplica) diedAtPoint() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.ProcessState == nil || r.selfKilled {
		return false
	}
	ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// kill sends SIGKILL and waits for the process to be gone.
func (r *tReplica) kill() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	if cmd == nil {
		r.mu.Unlock()
		return
	}
	select {
	case <-exited: // dead already (at its crash point, or at start)
		r.mu.Unlock()
		return
	default:
	}
	r.selfKilled = true // ours, not the crash point's
	r.mu.Unlock()
	cmd.Process.Kill()
	<-exited
}

func (r *tReplica) stop() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		r.kill()
	}
}

// tortureStats counts what the harness ran and found.
type tortureStats struct {
	mu          sync.Mutex
	pointKills  map[string]int
	pointMissed map[string]int // armed, not reached in time: killed at random instead
	pointViol   map[string]int
	randomKills int
	randomViol  int
	startDeaths int // died at the crash point while starting
	errs        []string

	imports, importItems, releases, redeems, rebinds, rebindLimited, statuses atomic.Int64
	retries, answers5xx, failed                                               atomic.Int64
}

func (s *tortureStats) errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) < 50 {
		s.errs = append(s.errs, fmt.Sprintf(format, args...))
	}
}

// tortureClient sends requests to any replica up, re-sending what a kill
// cut off (or a 5xx) until an answer comes or the deadline passes.
type tortureClient struct {
	ctx      context.Context
	replicas []*tReplica
	st       *tortureStats
}

func (c *tortureClient) send(conn *stormConn, admin bool, method, path, contentType string, body []byte) (int, []byte, error) {
	deadline := time.Now().Add(90 * time.Second)
	hc := crashClient
	if conn != nil {
		hc = conn.hc
	}
	first := rand.IntN(len(c.replicas))
	var lastErr error
	for try := 0; ; try++ {
		if c.ctx.Err() != nil {
			return 0, nil, c.ctx.Err()
		}
		if time.Now().After(deadline) {
			c.st.failed.Add(1)
			return 0, nil, fmt.Errorf("%s %s: no answer within 90s: %v", method, path, lastErr)
		}
		if try > 0 {
			c.st.retries.Add(1)
			time.Sleep(time.Duration(50+rand.IntN(150)) * time.Millisecond)
		}
		u := c.replicas[(first+try)%len(c.replicas)].URL()
		if u == "" {
			lastErr = errors.New("replica down")
			continue
		}
		if conn != nil {
			if err := conn.lim.Wait(c.ctx); err != nil {
				return 0, nil, err
			}
		}
		req, err := http.NewRequestWithContext(c.ctx, method, u+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if admin {
			req.Header.Set("Authorization", "Bearer "+tortureToken)
		}
		resp, err := hc.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode >= 500 || (resp.StatusCode == http.StatusTooManyRequests && strings.Contains(string(data), "from your address")) {
			if resp.StatusCode >= 500 {
				c.st.answers5xx.Add(1)
			}
			lastErr = fmt.Errorf("%d %.200s", resp.StatusCode, data)
			continue
		}
		return resp.StatusCode, data, nil
	}
}

func (c *tortureClient) json(conn *stormConn, admin bool, method, path string, body any) (int, []byte, error) {
	var data []byte
	ct := ""
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
		ct = "application/json"
	}
	return c.send(conn, admin, method, path, ct, data)
}

func runTorture(t *testing.T, bin string, d store.Dialect, nReplicas int, dur time.Duration) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "berth.db")
	if d == store.Postgres {
		dsn = storetest.DSN(t, d) // skips when BERTH_TEST_POSTGRES_URL is unset
	}
	key := randomKey(t)
	st := &tortureStats{pointKills: map[string]int{}, pointMissed: map[string]int{}, pointViol: map[string]int{}}
	var replicas []*tReplica
	for i := range nReplicas {
		replicas = append(replicas, &tReplica{t: t, idx: i, bin: bin, dsn: dsn, key: key, dir: dir})
	}
	t.Cleanup(func() {
		for _, r := range replicas {
			r.stop()
		}
		if !t.Failed() {
			return
		}
		for _, r := range replicas {
			for _, p := range r.logs[max(0, len(r.logs)-2):] {
				data, _ := os.ReadFile(p)
				lines := strings.Split(strings.TrimSpace(string(data)), "\n")
				t.Logf("--- %s (last %d lines)\n%s", filepath.Base(p), min(len(lines), 30), strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
	})
	// The first replica migrates alone; the others start together after.
	for _, r := range replicas {
		if _, err := r.start(""); err != nil {
			t.Fatal(err)
		}
	}
	db := openStormDB(t, d, dsn)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &tortureClient{ctx: ctx, replicas: replicas, st: st}

	// Pools: servers for imports (one failing often, so deliveries run out
	// of attempts and DeliveryFailed places elsewhere), teams for redeems.
	teamIDs := map[string]int64{}
	var serverIDs []int64
	mkPool := func(name, kind string, capacity int, prov map[string]any) int64 {
		code, body, err := c.json(nil, true, "POST", "/api/v1/pools", map[string]any{"name": name, "kind": kind, "capacity": capacity, "provider": prov})
		var p struct{ ID int64 }
		if err != nil || code != http.StatusCreated || json.Unmarshal(body, &p) != nil {
			t.Fatalf("create pool %s: %d %v %s", name, code, err, body)
		}
		return p.ID
	}
	for i := range tortureServers {
		prov := map[string]any{"type": "sim", "dir": filepath.Join(dir, "pools", fmt.Sprintf("srv-%d", i)), "latency_ms": 10}
		if i == 0 {
			prov["fail_rate"] = 0.7
		}
		serverIDs = append(serverIDs, mkPool(fmt.Sprintf("srv-%d", i), "server", tortureServerCap, prov))
	}
	var teamNames []string
	for i := range tortureTeams {
		name := fmt.Sprintf("team-%d", i)
		teamNames = append(teamNames, name)
		teamIDs[name] = mkPool(name, "team", tortureTeamCap, map[string]any{"type": "sim", "dir": filepath.Join(dir, "pools", name), "latency_ms": 20})
	}
	code, body, err := c.json(nil, true, "POST", "/api/v1/codes/batch", map[string]any{"count": tortureUsers, "max_uses": 1, "valid_for": "720h", "rebind_limit": 3})
	var gen struct{ Codes []string }
	if err != nil || code != http.StatusCreated || json.Unmarshal(body, &gen) != nil || len(gen.Codes) != tortureUsers {
		t.Fatalf("generate codes: %d %v %.200s", code, err, body)
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d; %d replica(s) on %s; load for %s", seed, nReplicas, d, dur)
	conns, how := stormConns(t, tortureUserWorkers)
	t.Logf("public clients: %s", how)
	loadStart := time.Now()
	loadCtx, stopLoad := context.WithTimeout(ctx, dur)
	defer stopLoad()
	var wg sync.WaitGroup
	gorun := func(fn func(rng *rand.Rand)) {
		wg.Add(1)
		n := uint64(time.Now().UnixNano())
		go func() { defer wg.Done(); fn(rand.New(rand.NewPCG(seed, n))) }()
	}
	cerr := func(what string, err error) {
		if loadCtx.Err() == nil && ctx.Err() == nil {
			st.errorf("%s: %v", what, err)
		}
	}

	// Importers: batches of 5 accounts, new ones and re-sent ones.
	var nextAccount atomic.Int64
	for g := range 2 {
		gorun(func(rng *rand.Rand) {
			for loadCtx.Err() == nil {
				var files []apptest.File
				for range 5 {
					var id int64
					if n := nextAccount.Load(); n > 0 && rng.Float64() < 0.3 {
						id = rng.Int64N(n)
					} else {
						id = nextAccount.Add(1) - 1
					}
					files = append(files, apptest.File{Name: fmt.Sprintf("acct%05d.session", id), Data: []byte(fmt.Sprintf("session of acct%05d", id))})
				}
				ct, b := apptest.Multipart(map[string]string{"script": "torture"}, dedupFiles(files))
				code, body, err := c.send(nil, true, "POST", "/api/v1/accounts/batch", ct, b)
				if err != nil || code != 200 {
					cerr(fmt.Sprintf("importer %d batch", g), fmt.Errorf("%d %v %.200s", code, err, body))
				} else {
					st.imports.Add(1)
					st.importItems.Add(int64(len(files)))
				}
				sleepCtx(loadCtx, time.Duration(200+rng.IntN(300))*time.Millisecond)
			}
		})
	}
	// Releaser: frees server seats now and then, so removals run and the
	// queue drains.
	gorun(func(rng *rand.Rand) {
		for loadCtx.Err() == nil {
			sleepCtx(loadCtx, time.Duration(300+rng.IntN(500))*time.Millisecond)
			var id int64
			err := db.QueryRow(`SELECT s.id FROM seats s JOIN pools p ON p.id = s.pool_id
				WHERE p.kind = 'server' AND s.state = 'active' ORDER BY RANDOM() LIMIT 1`).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				cerr("releaser: pick a seat", err)
				continue
			}
			code, body, err := c.json(nil, true, "POST", fmt.Sprintf("/api/v1/seats/%d/release", id), nil)
			if err != nil || code >= 300 && code != http.StatusConflict && code != http.StatusNotFound {
				cerr("release seat", fmt.Errorf("%d %v %.200s", code, err, body))
			} else {
				st.releases.Add(1)
			}
		}
	})
	// Status changes: a team is banned (its users may move for free) and
	// comes back; a server pool is paused and comes back.
	gorun(func(rng *rand.Rand) {
		for loadCtx.Err() == nil {
			sleepCtx(loadCtx, time.Duration(3000+rng.IntN(4000))*time.Millisecond)
			team := teamIDs[teamNames[rng.IntN(len(teamNames))]]
			srv := serverIDs[rng.IntN(len(serverIDs))]
			for _, step := range []struct {
				id     int64
				status string
			}{{team, "banned"}, {srv, "paused"}} {
				code, body, err := c.json(nil, true, "PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{step.id}, "status": step.status, "message": "torture"})
				if err != nil || code != 200 {
					cerr("status change", fmt.Errorf("%d %v %.200s", code, err, body))
				}
				st.statuses.Add(1)
			}
			sleepCtx(loadCtx, time.Duration(2000+rng.IntN(3000))*time.Millisecond)
			// Back to active even when the load has stopped: the final
			// state needs healthy pools for moves to complete.
			code, body, err := c.json(nil, true, "PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{team, srv}, "status": "active", "message": "torture"})
			if err != nil || code != 200 {
				cerr("status back to active", fmt.Errorf("%d %v %.200s", code, err, body))
			}
			st.statuses.Add(1)
		}
	})
	// Public users: redeem (re-sent now and then: idempotent), then ask to
	// move at random.
	type tUser struct{ email, code string }
	var users []tUser
	for i, cd := range gen.Codes {
		users = append(users, tUser{fmt.Sprintf("torture%03d@example.com", i), cd})
	}
	for g := range tortureUserWorkers {
		conn := &conns[g]
		gorun(func(rng *rand.Rand) {
			var mine []tUser
			for i := g; i < len(users); i += tortureUserWorkers {
				mine = append(mine, users[i])
			}
			for loadCtx.Err() == nil {
				u := mine[rng.IntN(len(mine))]
				cred := map[string]string{"email": u.email, "code": u.code}
				if rng.Float64() < 0.5 {
					code, body, err := c.json(conn, false, "POST", "/api/v1/public/redeem", cred)
					if err != nil || code != 200 {
						cerr("redeem "+u.email, fmt.Errorf("%d %v %.200s", code, err, body))
					} else {
						st.redeems.Add(1)
					}
				} else {
					code, body, err := c.json(conn, false, "POST", "/api/v1/public/rebind", cred)
					switch {
					case err != nil:
						cerr("rebind "+u.email, err)
					case code == 200:
						st.rebinds.Add(1)
					case code == http.StatusConflict || code == http.StatusTooManyRequests || code == http.StatusForbidden:
						// limit reached, 3/min per code, or not redeemed yet
						st.rebindLimited.Add(1)
					default:
						cerr("rebind "+u.email, fmt.Errorf("%d %.200s", code, body))
					}
				}
				sleepCtx(loadCtx, time.Duration(100+rng.IntN(400))*time.Millisecond)
			}
		})
	}

	// The killer: the first replica is armed at each crash point in turn
	// (the Nth hit, N from 1 to 3), the others (or, with one replica,
	// every other turn) are killed at random moments.
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		rng := rand.New(rand.NewPCG(seed, 7))
		var kwg sync.WaitGroup
		kwg.Add(1)
		go func() { // armed replica
			defer kwg.Done()
			r := replicas[0]
			for i := 0; loadCtx.Err() == nil; i++ {
				point := crashpoint.Points[i%len(crashpoint.Points)]
				if nReplicas == 1 && i%2 == 1 {
					point = "" // a random kill this turn
				}
				r.kill()
				arm := ""
				if point != "" {
					arm = fmt.Sprintf("%s:%d", point, 1+rng.IntN(3))
				}
				died, err := r.start(arm)
				if err != nil && !died {
					st.errorf("restart replica 0: %v", err)
					sleepCtx(loadCtx, time.Second)
					continue
				}
				if died {
					st.mu.Lock()
					st.startDeaths++
					st.mu.Unlock()
				} else {
					wait := tortureArmedWait
					if point == "" {
						wait = time.Duration(1000+rng.IntN(5000)) * time.Millisecond
					}
					r.mu.Lock()
					exited := r.exited
					r.mu.Unlock()
					select {
					case <-exited:
					case <-time.After(wait):
					case <-loadCtx.Done():
					}
					if loadCtx.Err() != nil && point != "" {
						select {
						case <-exited:
						default:
							return // the load ended while armed: the settle restart disarms
						}
					}
					r.kill()
					died = r.diedAtPoint()
				}
				v := tortureInstantCheck(db)
				st.mu.Lock()
				switch {
				case point != "" && died:
					st.pointKills[point]++
					st.pointViol[point] += len(v)
				case point != "":
					st.pointMissed[point]++
					st.randomKills++
					st.randomViol += len(v)
				default:
					st.randomKills++
					st.randomViol += len(v)
				}
				st.mu.Unlock()
				for _, s := range v {
					st.errorf("after a kill (armed %q): %s", point, s)
				}
			}
		}()
		for _, r := range replicas[1:] {
			kwg.Add(1)
			rng := rand.New(rand.NewPCG(seed, uint64(100+r.idx)))
			go func() {
				defer kwg.Done()
				for loadCtx.Err() == nil {
					sleepCtx(loadCtx, time.Duration(2000+rng.IntN(6000))*time.Millisecond)
					if loadCtx.Err() != nil {
						return
					}
					r.kill()
					v := tortureInstantCheck(db)
					st.mu.Lock()
					st.randomKills++
					st.randomViol += len(v)
					st.mu.Unlock()
					for _, s := range v {
						st.errorf("after a random kill: %s", s)
					}
					for loadCtx.Err() == nil {
						if _, err := r.start(""); err == nil {
							break
						} else {
							st.errorf("restart replica %d: %v", r.idx, err)
						}
					}
				}
			}()
		}
		kwg.Wait()
	}()

	<-loadCtx.Done()
	loadEnd := time.Now()
	loadTime := loadEnd.Sub(loadStart)
	<-killerDone
	// Every replica up and disarmed for the settle phase (the first may
	// still be armed); then the clients finish what they were re-sending.
	for _, r := range replicas {
		if r.idx > 0 && r.URL() != "" {
			continue
		}
		r.kill()
		if _, err := r.start(""); err != nil {
			t.Fatalf("settle: %v", err)
		}
	}
	wg.Wait()
	// Pools back to active, so that moves off a banned team complete.
	var all []int64
	all = append(all, serverIDs...)
	for _, id := range teamIDs {
		all = append(all, id)
	}
	if code, body, err := c.json(nil, true, "PATCH", "/api/v1/pools/status", map[string]any{"ids": all, "status": "active", "message": "torture: settle"}); err != nil || code != 200 {
		t.Fatalf("settle: pools back to active: %d %v %s", code, err, body)
	}

	// Settle: every seat final, no move pending, no job of ours unfinished.
	settleStart := time.Now()
	var last stormState
	settled := false
	for time.Since(settleStart) < tortureSettle {
		s, err := db.snapshot()
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		last = s
		if s.inFlight() == 0 && s.Moves["pending"] == 0 && len(s.Jobs) == 0 {
			settled = true
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	settleTime := time.Since(settleStart)

	violations := tortureFinalCheck(t, c, db, dir, settled, last)

	// The table.
	var b strings.Builder
	fmt.Fprintf(&b, "torture on %s, %d replica(s), load %s (seed %d)\n", d, nReplicas, loadTime.Round(time.Second), seed)
	fmt.Fprintf(&b, "| crash point | kills | armed, not reached | violations |\n|---|---:|---:|---:|\n")
	total := st.randomKills
	for _, p := range crashpoint.Points {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", p, st.pointKills[p], st.pointMissed[p], st.pointViol[p])
		total += st.pointKills[p]
	}
	fmt.Fprintf(&b, "| random SIGKILL | %d | | %d |\n", st.randomKills, st.randomViol)
	fmt.Fprintf(&b, "| **total kills** | %d | | |\n", total)
	fmt.Fprintf(&b, "died at the point while starting: %d (counted above)\n", st.startDeaths)
	fmt.Fprintf(&b, "requests: %d batch imports (%d items), %d seat releases, %d redeems, %d rebinds answered 200, %d rebinds refused (limit/rate), %d status changes; %d re-sends, %d 5xx answers re-sent, %d given up\n",
		st.imports.Load(), st.importItems.Load(), st.releases.Load(), st.redeems.Load(), st.rebinds.Load(), st.rebindLimited.Load(), st.statuses.Load(),
		st.retries.Load(), st.answers5xx.Load(), st.failed.Load())
	fmt.Fprintf(&b, "settle: %v in %s (bound %s); final: %s\n", settled, settleTime.Round(time.Millisecond), tortureSettle, last)
	fmt.Fprintf(&b, "final check violations: %d\n", violations)
	t.Log("\n" + b.String())
	if p := os.Getenv("BERTH_TORTURE_TABLE"); p != "" {
		os.WriteFile(p+"."+string(d), []byte(b.String()), 0o644)
	}
	for _, e := range st.errs {
		t.Errorf("%s", e)
	}
	for p, n := range st.pointViol {
		if n > 0 {
			t.Errorf("%d violations after kills at %s", n, p)
		}
	}
}

func dedupFiles(files []apptest.File) []apptest.File {
	seen := map[string]bool{}
	var out []apptest.File
	for _, f := range files {
		if !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, f)
		}
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// tortureInstantCheck checks, on one consistent view, what must hold after
// every commit, so also right after a kill: pools within capacity and
// their used count equal to their counted seats, codes within their limits,
// no member holding two seats outside a pending move.
func tortureInstantCheck(db stormDB) []string {
	var out []string
	err := db.read(func(tx *sql.Tx) error {
		err := eachRow(tx, `SELECT p.name, p.capacity, p.used,
			(SELECT COUNT(*) FROM seats s WHERE s.pool_id = p.id AND s.state NOT IN ('released', 'failed'))
			FROM pools p`, func(rows *sql.Rows) error {
			var name string
			var capacity, used, counted int
			if err := rows.Scan(&name, &capacity, &used, &counted); err != nil {
				return err
			}
			if used > capacity || counted > capacity || used != counted {
				out = append(out, fmt.Sprintf("pool %s: capacity %d, used %d, seats counted %d", name, capacity, used, counted))
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = eachRow(tx, `SELECT c.id, c.used_count, c.max_uses, c.rebind_count, c.rebind_limit FROM codes c
			WHERE c.used_count > c.max_uses OR c.rebind_count > c.rebind_limit OR c.used_count < 0 OR c.rebind_count < 0`, func(rows *sql.Rows) error {
			var id, used, maxUses, rebinds, limit int
			if err := rows.Scan(&id, &used, &maxUses, &rebinds, &limit); err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("code %d: used %d of %d, rebinds %d of %d", id, used, maxUses, rebinds, limit))
			return nil
		})
		if err != nil {
			return err
		}
		// Each row is a name and how many it has of something it may have
		// one of at most.
		tooMany := func(query, format string) error {
			return eachRow(tx, query, func(rows *sql.Rows) error {
				var name string
				var n int
				if err := rows.Scan(&name, &n); err != nil {
					return err
				}
				out = append(out, fmt.Sprintf(format, name, n))
				return nil
			})
		}
		if err := tooMany(`SELECT bound_email, COUNT(*) FROM codes WHERE bound_email <> '' GROUP BY bound_email HAVING COUNT(*) > 1`,
			"%s is bound to %d codes"); err != nil {
			return err
		}
		// Holding: a seat being delivered or active. A member holds two only
		// while a move is pending (make before break).
		return tooMany(`SELECT m.external_id, COUNT(*) FROM seats s JOIN members m ON m.id = s.member_id
			WHERE s.state IN ('reserved', 'provisioning', 'active')
			AND NOT EXISTS (SELECT 1 FROM moves mv WHERE mv.member_id = m.id AND mv.state = 'pending')
			GROUP BY m.external_id HAVING COUNT(*) > 1`, "%s holds %d seats with no move pending")
	})
	if err != nil {
		out = append(out, "reading the database: "+err.Error())
	}
	return out
}

// tortureFinalCheck checks the settled state and returns how many
// violations it found (each also a test error).
func tortureFinalCheck(t *testing.T, c *tortureClient, db stormDB, dir string, settled bool, last stormState) int {
	t.Helper()
	n := 0
	bad := func(format string, args ...any) {
		n++
		t.Errorf(format, args...)
	}
	if !settled {
		bad("not settled within %s: %s", tortureSettle, last)
		stormLogPending(t, db)
	}
	for _, v := range tortureInstantCheck(db) {
		bad("final: %s", v)
	}
	var notFinal, pendingMoves int
	err := db.QueryRow(`SELECT
		(SELECT COUNT(*) FROM seats WHERE state NOT IN ('active', 'released', 'failed', 'release_failed')),
		(SELECT COUNT(*) FROM moves WHERE state = 'pending')`).Scan(&notFinal, &pendingMoves)
	if err != nil {
		t.Fatalf("final: %v", err)
	}
	if notFinal != 0 || pendingMoves != 0 {
		bad("final: %d seats not in a final state, %d moves pending", notFinal, pendingMoves)
	}
	// Paid moves that stand are what rebind_count says.
	rows, err := db.Query(`SELECT c.id, c.rebind_count,
		(SELECT COUNT(*) FROM moves mv WHERE mv.code_id = c.id AND mv.paid = 1 AND mv.state IN ('pending', 'done'))
		FROM codes c`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, rebinds, charged int
		if err := rows.Scan(&id, &rebinds, &charged); err != nil {
			t.Fatal(err)
		}
		if rebinds != charged {
			bad("code %d: rebind_count %d but %d paid moves stand", id, rebinds, charged)
		}
	}
	rows.Close()
	// The simulated providers hold exactly the active seats' members.
	pools, err := db.pools()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pools {
		entries, err := os.ReadDir(filepath.Join(dir, "pools", p.Name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		files := map[string]bool{}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				files[strings.TrimSuffix(e.Name(), ".session")] = true
			}
		}
		// A seat whose removal failed for good (release_failed, alerted)
		// may still be there.
		kept, err := tortureReleaseFailed(db, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var extra, missing []string
		for f := range files {
			if !p.Active[f] && !kept[f] {
				extra = append(extra, f)
			}
		}
		for m := range p.Active {
			if !files[m] {
				missing = append(missing, m)
			}
		}
		sort.Strings(extra)
		sort.Strings(missing)
		for _, m := range append(append([]string{}, extra...), missing...)[:min(len(extra)+len(missing), 5)] {
			t.Logf("seats of %s: %s", m, tortureSeatsOf(db, m))
		}
		if len(extra) > 0 {
			bad("pool %s holds %d members with no active seat there: %v", p.Name, len(extra), extra[:min(len(extra), 10)])
		}
		if len(missing) > 0 {
			bad("pool %s lacks %d members active there: %v", p.Name, len(missing), missing[:min(len(missing), 10)])
		}
	}
	// The integrity report must be empty.
	code, body, err := c.json(nil, true, "GET", "/api/v1/integrity", nil)
	if err != nil || code != 200 {
		t.Fatalf("integrity: %d %v %s", code, err, body)
	}
	var rep struct {
		Orphans, Overbooked, ZombieMoves, Drift []json.RawMessage
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for k, dst := range map[string]*[]json.RawMessage{"orphans": &rep.Orphans, "overbooked": &rep.Overbooked, "zombie_moves": &rep.ZombieMoves, "drift": &rep.Drift} {
		if v, ok := raw[k]; ok && string(v) != "null" {
			if err := json.Unmarshal(v, dst); err != nil {
				t.Fatalf("integrity %s: %v", k, err)
			}
		}
		if len(*dst) > 0 {
			bad("integrity %s: %d entries: %.500s", k, len(*dst), raw[k])
		}
	}
	return n
}

func tortureReleaseFailed(db stormDB, poolID int64) (map[string]bool, error) {
	rows, err := db.Query(fmt.Sprintf(`SELECT m.external_id FROM seats s JOIN members m ON m.id = s.member_id
		WHERE s.pool_id = %d AND s.state = 'release_failed'`, poolID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, err
		}
		out[m] = true
	}
	return out, rows.Err()
}

// tortureSeatsOf lists a member's seats, oldest first, and its history.
func tortureSeatsOf(db stormDB, member string) string {
	q := strings.ReplaceAll(member, "'", "''")
	rows, err := db.Query(`SELECT s.id, p.name, s.state, COALESCE(s.move_from, 0) FROM seats s JOIN pools p ON p.id = s.pool_id
		JOIN members m ON m.id = s.member_id WHERE m.external_id = '` + q + `' ORDER BY s.id`)
	if err != nil {
		return err.Error()
	}
	var out []string
	for rows.Next() {
		var id, from int64
		var pool, state string
		if err := rows.Scan(&id, &pool, &state, &from); err != nil {
			rows.Close()
			return err.Error()
		}
		out = append(out, fmt.Sprintf("seat %d %s %s (move from %d)", id, pool, state, from))
	}
	rows.Close()
	rows, err = db.Query(`SELECT action, COALESCE(pool, ''), COALESCE(reason, '') FROM history WHERE member = '` + q + `' ORDER BY id`)
	if err != nil {
		return strings.Join(out, "; ") + "; history: " + err.Error()
	}
	defer rows.Close()
	var h []string
	for rows.Next() {
		var a, p, r string
		if rows.Scan(&a, &p, &r) == nil {
			h = append(h, a+" "+p+" "+r)
		}
	}
	return strings.Join(out, "; ") + "\n  history: " + strings.Join(h, "\n    ")
}
