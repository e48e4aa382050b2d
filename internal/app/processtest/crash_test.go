package processtest

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/berthhq/berth/internal/app/apptest"
)

// The crash test runs the real berth binary, kills it with SIGKILL in the
// middle of a 1,000-file batch and restarts it on the same database. Nothing
// may be lost: after the restart (and the operator re-sending the batch, which
// is idempotent by account id) every account is placed or queued, no pool is
// over capacity, no account holds two seats, and every placed account's file
// is in its pool. Deliveries are observed through the simulated provider's
// dir setting: each pool keeps its members as files, across processes.

const (
	crashAccounts = 1000
	crashPerPool  = 300 // 3 pools: 900 placed, 100 queued
	crashScript   = "crash-script"
	crashToken    = "crash-admin-token-0123456789abcdef"
	// crashSettleWithin: after the restart every placed account is
	// delivered within this time. The server runs with the default job
	// timing (BERTH_JOB_RESCUE_AFTER unset: 90s): on SQLite the restarted
	// process owns the database file (store/lock.go) and retries at once
	// the jobs the killed one left running (jobs/recover.go), instead of
	// waiting for River's rescue window and the dead leader's lease.
	crashSettleWithin = 10 * time.Second
	// Short job timing for the torture test's replicas (torture_test.go):
	// on PostgreSQL a killed replica's jobs wait for River's rescue (and
	// the dead leader's lease, about 15s).
	crashJobTimeout  = "2s"
	crashRescueAfter = "3s"
)

var crashPools = []string{"crash-a", "crash-b", "crash-c"}

// crashState is one consistent look at the database.
type crashState struct {
	Members, Pending, Seats, Active, Queue int
}

func (s crashState) String() string {
	return fmt.Sprintf("members stored %d (pending %d), seats %d (active %d), queued %d",
		s.Members, s.Pending, s.Seats, s.Active, s.Queue)
}

type crashVariant struct {
	name      string
	latencyMS int
	// afterResponse: kill only once the batch has been answered (the kill
	// hits deliveries, not the import).
	afterResponse bool
	// sweepFirst: the client does not retry until berth has settled on its
	// own (the crash sweep places the members left pending).
	sweepFirst bool
	// killWhen decides on a snapshot whether to kill now.
	killWhen func(crashState) bool
	// missed reports that the window for killing has passed.
	missed func(crashState) bool
	// crashAt, when set, arms the server's crash point instead
	// (BERTH_CRASH_AT): a window too short to hit by watching the
	// database (storing 250 accounts is one statement) is hit exactly.
	crashAt string
}

func TestCrashMidBatchLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds berth and kills a server process: skipped with -short")
	}
	bin := buildBerth(t)
	placed := len(crashPools) * crashPerPool
	variants := []crashVariant{
		{
			// Phase 1 (store, 250 per transaction) is under way: some
			// accounts are stored as pending, the rest never reached the
			// database.
			name: "kill-while-storing", latencyMS: 5, crashAt: "import.after-store-chunk:2",
			killWhen: func(s crashState) bool { return s.Members >= 2*250 && s.Members < crashAccounts && s.Seats == 0 },
			missed:   func(s crashState) bool { return s.Members == crashAccounts || s.Seats > 0 },
		},
		{
			// Phase 2 (place, 100 per transaction) is under way: some
			// accounts have seats and delivery jobs (some delivered), the
			// rest are pending.
			// The crash point fires inside the fourth chunk's transaction,
			// before its commit: watching the database from outside missed
			// the moment on a busy machine (900 seats between two looks).
			name: "kill-while-placing", latencyMS: 5, crashAt: "place.before-commit:4",
			killWhen: func(s crashState) bool { return s.Seats >= 3*100 && s.Seats < placed },
			missed:   func(s crashState) bool { return s.Seats >= placed },
		},
		{
			// As above, but nobody re-sends the batch until berth has
			// settled: the crash sweep (run at start) must place the
			// members the killed batch left pending.
			name: "kill-while-placing-no-retry", latencyMS: 5, sweepFirst: true, crashAt: "place.before-commit:2",
			killWhen: func(s crashState) bool { return s.Seats > 0 && s.Seats < placed },
			missed:   func(s crashState) bool { return s.Seats >= placed },
		},
		{
			// The batch was answered; deliveries (100ms each) are in flight.
			name: "kill-while-delivering", latencyMS: 100, afterResponse: true,
			killWhen: func(s crashState) bool { return s.Active >= placed/4 && s.Active < placed },
			missed:   func(s crashState) bool { return s.Active >= placed },
		},
	}
	// One after the other: each measures how soon its restart delivers
	// (crashSettleWithin), which four servers sharing the machine would
	// measure as much as the recovery.
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			runCrash(t, bin, v)
		})
	}
}

func runCrash(t *testing.T, bin string, v crashVariant) {
	dir := t.TempDir()
	srv := &crashServer{t: t, bin: bin, dir: dir, db: filepath.Join(dir, "berth.db"), key: randomKey(t), crashAt: v.crashAt}
	srv.start()

	for i, name := range crashPools {
		code, body, err := srv.do("POST", "/api/v1/pools", map[string]any{
			"name": name, "kind": "server", "capacity": crashPerPool, "priority": i,
			"provider": map[string]any{"type": "sim", "dir": filepath.Join(dir, name), "latency_ms": v.latencyMS},
		})
		if err != nil || code != http.StatusCreated {
			t.Fatalf("create pool %s: %d %s %v", name, code, body, err)
		}
	}

	files := crashFiles(crashAccounts)
	ct, body := apptest.Multipart(map[string]string{"script": crashScript}, files)

	db := openReadOnly(t, srv.db)
	type result struct {
		code int
		body []byte
		err  error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		code, b, err := srv.post("/api/v1/accounts/batch", ct, body)
		done <- result{code, b, err}
	}()

	var first *result
	if v.afterResponse {
		r := <-done
		first = &r
		if r.err != nil || r.code != 200 {
			t.Fatalf("batch: %d %v %s", r.code, r.err, r.body)
		}
		t.Logf("batch answered in %s", time.Since(start).Round(time.Millisecond))
	}

	// Watch the database and kill the server at the chosen moment.
	var atKill crashState
	deadline := time.Now().Add(30 * time.Second)
	if v.crashAt != "" {
		// The crash point kills the server; the state must be the one
		// killWhen describes.
		select {
		case <-srv.exited:
			srv.running = false
		case <-time.After(30 * time.Second):
			srv.kill()
			t.Fatalf("the crash point %s was not reached within 30s", v.crashAt)
		}
		s, err := snapshot(db)
		if err != nil || !v.killWhen(s) {
			t.Fatalf("killed at %s in state %s (%v), not the one the variant wants", v.crashAt, s, err)
		}
		atKill = s
	}
	for srv.running {
		s, err := snapshot(db)
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		if v.killWhen(s) {
			srv.kill()
			atKill = s
			break
		}
		if v.missed(s) {
			srv.kill()
			t.Fatalf("missed the moment to kill: %s after %s", s, time.Since(start))
		}
		if first == nil {
			select {
			case r := <-done:
				srv.kill()
				t.Fatalf("batch finished (%d %v) before the kill; state %s", r.code, r.err, s)
			default:
			}
		}
		if time.Now().After(deadline) {
			srv.kill()
			t.Fatalf("no moment to kill within 30s; state %s", s)
		}
		time.Sleep(time.Millisecond)
	}
	if first == nil {
		r := <-done
		if r.err == nil {
			t.Fatalf("batch request survived the kill: %d %s", r.code, r.body)
		}
		t.Logf("batch request cut off by the kill: %v", r.err)
	}
	t.Logf("killed %s after %s, at: %s", v.name, time.Since(start).Round(time.Millisecond), atKill)
	if after, err := snapshot(db); err == nil {
		t.Logf("durable state after the kill: %s; files delivered %d; delivery jobs %v",
			after, countFiles(dir), deliveryJobs(db))
	} else {
		t.Logf("reading the database after the kill: %v", err)
	}

	// Restart on the same database.
	restart := time.Now()
	srv.start()
	resend := func() []apptest.BatchItem {
		// The operator saw the batch fail and sends it again.
		code, b, err := srv.post("/api/v1/accounts/batch", ct, body)
		if err != nil || code != 200 {
			t.Fatalf("re-sent batch: %d %v %s", code, err, b)
		}
		t.Logf("re-sent batch answered %s after restart", time.Since(restart).Round(time.Millisecond))
		return batchItems(t, b)
	}
	var items []apptest.BatchItem
	switch {
	case first != nil:
		items = batchItems(t, first.body)
	case !v.sweepFirst:
		items = resend()
	}

	// Wait until everything placed is delivered. The wait is far longer
	// than crashSettleWithin so a slow recovery is measured, not cut off.
	placed := len(crashPools) * crashPerPool
	var final crashState
	ok := false
	for wait := time.Now().Add(150 * time.Second); time.Now().Before(wait); time.Sleep(100 * time.Millisecond) {
		s, err := snapshot(db)
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		final = s
		if s.Pending == 0 && s.Active == placed && s.Queue == crashAccounts-placed && s.Members == crashAccounts && countFiles(dir) == placed {
			ok = true
			break
		}
	}
	settled := time.Since(restart)
	t.Logf("after restart (%s): %s; files delivered %d; delivery jobs %v",
		settled.Round(time.Millisecond), final, countFiles(dir), deliveryJobs(db))
	switch {
	case !ok:
		t.Errorf("not settled 150s after restart")
	case settled > crashSettleWithin:
		t.Errorf("every placed account delivered %s after the restart, want within %s", settled.Round(time.Millisecond), crashSettleWithin)
	}
	if items == nil {
		// Settled without any retry from the client: the crash sweep placed
		// what the killed batch left pending. The late retry changes nothing
		// and reports where each account is.
		items = resend()
	}
	if n := countStatus(items, "placed"); n != placed {
		t.Errorf("batch answer: %d placed, want %d", n, placed)
	}
	if n := countStatus(items, "queued"); n != crashAccounts-placed {
		t.Errorf("batch answer: %d queued, want %d", n, crashAccounts-placed)
	}
	checkCrashOutcome(t, srv, db, dir, files, items)
}

// checkCrashOutcome asserts that nothing was lost or doubled.
func checkCrashOutcome(t *testing.T, srv *crashServer, db *sql.DB, dir string, files []apptest.File, items []apptest.BatchItem) {
	t.Helper()
	placed := len(crashPools) * crashPerPool

	// Every account is placed (its seat active) or queued; none pending.
	code, body, err := srv.do("GET", "/api/v1/accounts?limit=2000", nil)
	if err != nil || code != 200 {
		t.Fatalf("list accounts: %d %v %s", code, err, body)
	}
	var list struct {
		Items []struct{ Account, Script, Pool, State string }
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	byAccount := map[string]struct{ Pool, State string }{}
	for _, a := range list.Items {
		if _, dup := byAccount[a.Account]; dup {
			t.Errorf("account %s listed twice", a.Account)
		}
		byAccount[a.Account] = struct{ Pool, State string }{a.Pool, a.State}
	}
	if len(byAccount) != crashAccounts {
		t.Errorf("%d accounts listed, want %d", len(byAccount), crashAccounts)
	}
	states := map[string]int{}
	for i, f := range files {
		id := strings.TrimSuffix(f.Name, ".session")
		a, ok := byAccount[id]
		if !ok {
			t.Errorf("account %s lost", id)
			continue
		}
		states[a.State]++
		switch a.State {
		case "active":
			data, err := os.ReadFile(filepath.Join(dir, a.Pool, f.Name))
			if err != nil {
				t.Errorf("account %s active on %s but its file is not there: %v", id, a.Pool, err)
			} else if !bytes.Equal(data, f.Data) {
				t.Errorf("account %s: file on %s differs from the one sent", id, a.Pool)
			}
			if items[i].Status != "placed" || items[i].Pool != a.Pool {
				t.Errorf("account %s: batch answered %s %s, now active on %s", id, items[i].Status, items[i].Pool, a.Pool)
			}
		case "queued":
			if items[i].Status != "queued" {
				t.Errorf("account %s: batch answered %s %s, now queued", id, items[i].Status, items[i].Pool)
			}
		default:
			t.Errorf("account %s is %s on %q: want active or queued", id, a.State, a.Pool)
		}
	}
	if states["active"] != placed || states["queued"] != crashAccounts-placed {
		t.Errorf("account states %v: want %d active, %d queued", states, placed, crashAccounts-placed)
	}

	// The files in the pools are exactly the placed accounts' files, each
	// in one pool only.
	seen := map[string]string{}
	leftovers := 0
	for _, p := range crashPools {
		entries, err := os.ReadDir(filepath.Join(dir, p))
		if err != nil {
			t.Errorf("pool dir %s: %v", p, err)
			continue
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				leftovers++ // a Put cut off by the kill: never renamed into place
				continue
			}
			id := strings.TrimSuffix(e.Name(), ".session")
			if other, ok := seen[e.Name()]; ok {
				t.Errorf("%s delivered to both %s and %s", e.Name(), other, p)
			}
			seen[e.Name()] = p
			if a := byAccount[id]; a.State != "active" || a.Pool != p {
				t.Errorf("%s is in %s but the account is %s on %q", e.Name(), p, a.State, a.Pool)
			}
		}
	}
	if len(seen) != placed {
		t.Errorf("%d files delivered, want %d", len(seen), placed)
	}
	if leftovers > 0 {
		t.Logf("%d temporary files left by Puts cut off by the kill", leftovers)
	}

	// Capacity: used never above capacity and equal to the seats counted.
	rows, err := db.Query(`SELECT p.name, p.capacity, p.used,
		(SELECT COUNT(*) FROM seats s WHERE s.pool_id = p.id AND s.state NOT IN ('released', 'failed'))
		FROM pools p ORDER BY p.name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var capacity, used, counted int
		if err := rows.Scan(&name, &capacity, &used, &counted); err != nil {
			t.Fatal(err)
		}
		if used > capacity || used != counted || counted != crashPerPool {
			t.Errorf("pool %s: capacity %d, used %d, seats counted %d (want %d)", name, capacity, used, counted, crashPerPool)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	var double, notActive, queueRows, placedMembers, otherMembers int
	err = db.QueryRow(`SELECT
		(SELECT COUNT(*) FROM (SELECT member_id FROM seats WHERE state NOT IN ('released', 'failed') GROUP BY member_id HAVING COUNT(*) > 1)),
		(SELECT COUNT(*) FROM seats WHERE state NOT IN ('active')),
		(SELECT COUNT(*) FROM queue q JOIN members m ON m.id = q.member_id WHERE m.state = 'queued'),
		(SELECT COUNT(*) FROM members WHERE state = 'placed'),
		(SELECT COUNT(*) FROM members WHERE state NOT IN ('placed', 'queued'))`).
		Scan(&double, &notActive, &queueRows, &placedMembers, &otherMembers)
	if err != nil {
		t.Fatal(err)
	}
	if double != 0 {
		t.Errorf("%d accounts hold more than one live seat", double)
	}
	if notActive != 0 {
		t.Errorf("%d seats not active (failed, released or still delivering); no delivery should fail here", notActive)
	}
	if queueRows != crashAccounts-placed || placedMembers != placed || otherMembers != 0 {
		t.Errorf("members: %d placed, %d queued with a queue entry, %d in another state; want %d, %d, 0",
			placedMembers, queueRows, otherMembers, placed, crashAccounts-placed)
	}
}

// crashFiles makes n distinct credential files acct0000.session … with
// some kilobytes of per-account content.
func crashFiles(n int) []apptest.File {
	out := make([]apptest.File, n)
	for i := range out {
		id := fmt.Sprintf("acct%04d", i)
		r := rand.New(rand.NewPCG(uint64(i), 42))
		data := make([]byte, 4096)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		out[i] = apptest.File{Name: id + ".session", Data: append([]byte("SQLite format 3\x00 session of "+id+"\n"), data...)}
	}
	return out
}

func countStatus(items []apptest.BatchItem, status string) int {
	n := 0
	for _, it := range items {
		if it.Status == status {
			n++
		}
	}
	return n
}

func batchItems(t *testing.T, body []byte) []apptest.BatchItem {
	t.Helper()
	var out struct{ Items []apptest.BatchItem }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("decode batch answer: %v", err)
	}
	if len(out.Items) != crashAccounts {
		t.Fatalf("batch answer has %d items, want %d", len(out.Items), crashAccounts)
	}
	return out.Items
}

// countFiles counts member files (not temporary ones) in the pools' dirs.
func countFiles(dir string) int {
	n := 0
	for _, p := range crashPools {
		entries, _ := os.ReadDir(filepath.Join(dir, p))
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
	}
	return n
}

// openReadOnly opens the server's SQLite database read-only, beside it.
func openReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func snapshot(db *sql.DB) (crashState, error) {
	var s crashState
	err := db.QueryRow(`SELECT
		(SELECT COUNT(*) FROM members),
		(SELECT COUNT(*) FROM members WHERE state = 'pending'),
		(SELECT COUNT(*) FROM seats),
		(SELECT COUNT(*) FROM seats WHERE state = 'active'),
		(SELECT COUNT(*) FROM queue)`).Scan(&s.Members, &s.Pending, &s.Seats, &s.Active, &s.Queue)
	return s, err
}

// deliveryJobs counts River's delivery jobs by state.
func deliveryJobs(db *sql.DB) map[string]int {
	out := map[string]int{}
	rows, err := db.Query(`SELECT state, COUNT(*) FROM river_job WHERE kind IN ('deliver', 'deliver_batch') GROUP BY state`)
	if err != nil {
		out["error: "+err.Error()] = 1
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if rows.Scan(&state, &n) == nil {
			out[state] = n
		}
	}
	return out
}

func randomKey(t *testing.T) string {
	key := make([]byte, 32)
	if _, err := crand.Read(key); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(key)
}

// crashServer runs `berth serve` as a child process.
type crashServer struct {
	t       *testing.T
	bin     string
	dir, db string
	key     string
	crashAt string // BERTH_CRASH_AT of the first start only
	url     string
	starts  int
	cmd     *exec.Cmd
	exited  chan struct{}
	logs    []string
	running bool
}

func (s *crashServer) start() {
	t := s.t
	t.Helper()
	s.starts++
	logPath := filepath.Join(s.dir, fmt.Sprintf("server-%d.log", s.starts))
	s.logs = append(s.logs, logPath)
	env := []string{"BERTH_ADMIN_TOKEN=" + crashToken, "BERTH_SECRET_KEY=" + s.key}
	if strings.HasPrefix(s.db, "postgres") {
		// On PostgreSQL a running job may be a live replica's, so a killed
		// process's jobs wait for River's rescue window: shortened here.
		env = append(env, "BERTH_JOB_TIMEOUT="+crashJobTimeout, "BERTH_JOB_RESCUE_AFTER="+crashRescueAfter)
	}
	if s.crashAt != "" && s.starts == 1 {
		env = append(env, "BERTH_CRASH_AT="+s.crashAt)
	}
	p, err := spawnBerth(s.bin, s.db, logPath, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.starts == 1 {
		t.Cleanup(func() {
			s.stop()
			for _, p := range s.logs {
				data, _ := os.ReadFile(p)
				lines := strings.Split(strings.TrimSpace(string(data)), "\n")
				if t.Failed() {
					t.Logf("--- %s (last %d lines)\n%s", filepath.Base(p), min(len(lines), 40), strings.Join(lines[max(0, len(lines)-40):], "\n"))
					continue
				}
				var bad []string
				for _, l := range lines {
					if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
						bad = append(bad, l)
					}
				}
				if len(bad) > 0 {
					t.Logf("%s: %d warnings/errors, first: %s", filepath.Base(p), len(bad), strings.Join(bad[:min(len(bad), 5)], "\n"))
				}
			}
		})
	}
	s.cmd, s.exited, s.running = p.cmd, p.exited, true
	u, err := p.ready(30*time.Second, 10*time.Second)
	if err != nil {
		select {
		case <-p.exited:
			s.running = false
		default: // still starting: the cleanup stops it
		}
		t.Fatal(err)
	}
	s.url = u
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *crashServer) kill() {
	if !s.running {
		return
	}
	s.cmd.Process.Kill() // SIGKILL on Unix
	<-s.exited
	s.running = false
}

// stop asks the server to shut down, killing it if it does not.
func (s *crashServer) stop() {
	if !s.running {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
		s.running = false
	case <-time.After(20 * time.Second):
		s.kill()
	}
}

var crashClient = &http.Client{Timeout: 60 * time.Second}

func (s *crashServer) do(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.send(req)
}

func (s *crashServer) post(path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), "POST", s.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	return s.send(req)
}

func (s *crashServer) send(req *http.Request) (int, []byte, error) {
	req.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := crashClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, data, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, data, nil
}

// On SQLite one process owns the database: while a `berth serve` runs, a
// second serve (or demo, migrate, keys) on the same file refuses to start,
// naming the process that holds it. The lock goes with the process, however
// it ends: after a kill -9, and after a clean stop, the next start works.
func TestSQLiteOneProcessPerDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds berth and kills a server process: skipped with -short")
	}
	bin := buildBerth(t)
	dir := t.TempDir()
	srv := &crashServer{t: t, bin: bin, dir: dir, db: filepath.Join(dir, "berth.db"), key: randomKey(t)}
	srv.start()

	refused := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "BERTH_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "BERTH_ADMIN_TOKEN="+crashToken, "BERTH_SECRET_KEY="+srv.key)
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("berth %s ran beside the first process (still running after 20s):\n%s", strings.Join(args, " "), out)
		}
		want := fmt.Sprintf("database %s is in use by another berth process (pid %d); stop it first", srv.db, srv.cmd.Process.Pid)
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("berth %s: %v, output:\n%s\nwant it refused with %q", strings.Join(args, " "), err, out, want)
		}
	}
	refused("serve", "--listen", "127.0.0.1:0", "--db", srv.db)
	refused("demo", "--listen", "127.0.0.1:0", "--db", srv.db, "--exit")
	refused("migrate", "--db", srv.db)
	refused("keys", "status", "--db", srv.db)

	// The first process serves on, unharmed.
	if code, body, err := srv.do("GET", "/api/v1/pools", nil); err != nil || code != 200 {
		t.Fatalf("the first process after the refusals: %d %v %s", code, err, body)
	}
	// kill -9: the kernel releases the lock; the next start takes it.
	srv.kill()
	srv.start()
	// A clean stop releases it too.
	srv.stop()
	srv.start()
	refused("migrate", "--db", srv.db)
}
