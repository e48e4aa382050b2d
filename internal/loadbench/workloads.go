package loadbench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/adminclient"
	"github.com/berthhq/berth/internal/codes"
)

// publicTimeout bounds one public request.
const publicTimeout = 60 * time.Second

// user is a simulated person with an e-mail and a code.
type user struct {
	idx         int // user index: source address and replica
	email, code string
	state, pool string // from the redeem's answer
}

// bench is one run against one target.
type bench struct {
	cfg     *Config
	t       *target
	admin   *admin
	pub     *http.Client
	runID   string // in pool names, e-mails, the codes' group and batch
	group   string // the codes' group and the teams' label group
	poolSeq map[string]int
	poolIDs map[string]int64
	teams   []string // team names in creation order

	seated     []*user // users of the redeem workloads and where they landed
	validP99   float64 // redeem-valid's p99 (ms), for redeem-mixed's note
	trivialURL string  // the trivial handler, when trivial is selected
}

func newBench(cfg *Config, t *target) *bench {
	id := randomHex(4)
	return &bench{cfg: cfg, t: t, admin: &admin{adminclient.Client{Base: t.urls[0], Token: t.token, HTTP: adminHTTP()}}, pub: publicClient(publicTimeout),
		runID: id, group: "bench-" + id, poolSeq: map[string]int{}, poolIDs: map[string]int64{}}
}

// pubURL is the replica user idx talks to (round-robin).
func (b *bench) pubURL(idx int) string { return b.t.urls[idx%len(b.t.urls)] }

// run runs the selected workloads in order, adding their rows to rep.
// When trivial is selected, every other workload's ratio is to a trivial
// measurement taken just before it (paired, so that load drift on a shared
// machine cancels out of the ratio more than it would against one early
// measurement); the trivial row is the first of these.
func (b *bench) run(ctx context.Context, rep *Report) error {
	steps := map[string]func(context.Context) ([]Result, error){
		"redeem-valid": b.redeemValid, "redeem-wrong": b.redeemWrong,
		"redeem-mixed": b.redeemMixed, "rebind-storm": b.rebindStorm, "import": b.importAccounts,
	}
	if b.cfg.wants("trivial") {
		stop, err := b.startTrivial()
		if err != nil {
			return err
		}
		defer stop()
	}
	for _, name := range Workloads {
		if !b.cfg.wants(name) {
			continue
		}
		b.cfg.logf("%s: starting", name)
		var yardstick float64
		if b.trivialURL != "" {
			t := b.measureTrivial(ctx)
			if name == "trivial" {
				b.add(rep, t, t.RPS)
				continue
			}
			yardstick = t.RPS
			b.cfg.logf("  trivial just before: %.0f requests/s", yardstick)
		}
		res, err := steps[name](ctx)
		for _, r := range res {
			b.add(rep, r, yardstick)
		}
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// add logs r and adds it to rep, with its ratio to trivialRPS (0: none).
func (b *bench) add(rep *Report, r Result, trivialRPS float64) {
	if trivialRPS > 0 {
		r.Ratio = r.RPS / trivialRPS
		if r.Workload != "trivial" {
			if r.Extra == nil {
				r.Extra = map[string]float64{}
			}
			r.Extra["trivial_rps"] = trivialRPS
		}
	}
	b.cfg.logf("%s: %d requests in %.1fs, %.0f %s/s, p50 %.1f ms, p99 %.1f ms, errors %s",
		r.Workload, r.Requests, r.Seconds, r.RPS, r.Unit, r.P50MS, r.P99MS, formatErrors(r.Errors))
	rep.Results = append(rep.Results, r)
}

// startTrivial serves the trivial handler, 200 "ok", on 127.0.0.1 from
// this process.
func (b *bench) startTrivial() (stop func(), err error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })}
	go srv.Serve(ln)
	b.trivialURL = "http://" + ln.Addr().String() + "/"
	return func() { srv.Close() }, nil
}

// measureTrivial sends --users requests to the trivial handler with the
// same clients as the public routes: the yardstick of every ratio.
func (b *bench) measureTrivial(ctx context.Context) Result {
	s := load(ctx, b.cfg.Clients, b.cfg.Users, b.cfg.MaxDuration, func(ctx context.Context, i int) (int, error) {
		return sendJSON(withSource(ctx, userAddr(usersTrivial+i)), b.pub, "GET", b.trivialURL, nil, nil)
	})
	r := s.result("trivial", s.answered())
	r.Notes = append(r.Notes, fmt.Sprintf("in-process net/http handler, %d clients, a fresh connection per request; "+
		"measured again before each workload for its ratio", b.cfg.Clients))
	return r
}

// newUsers makes n users with fresh codes; their indexes start at base.
func (b *bench) newUsers(ctx context.Context, n, base int, tag string) ([]user, error) {
	cs, err := b.generateCodes(ctx, n)
	if err != nil {
		return nil, err
	}
	users := make([]user, n)
	for i := range users {
		users[i] = user{idx: base + i, email: fmt.Sprintf("%s%d-%s@bench.example", tag, i, b.runID), code: cs[i]}
	}
	return users, nil
}

// redeemFunc redeems users[i]'s code from the user's own address and notes
// the seat's state and team.
func (b *bench) redeemFunc(users []user) requestFunc {
	return func(ctx context.Context, i int) (int, error) {
		u := &users[i]
		var res struct {
			State string `json:"state"`
			Pool  string `json:"pool"`
		}
		code, err := sendJSON(withSource(ctx, userAddr(u.idx)), b.pub, "POST", b.pubURL(u.idx)+"/api/v1/public/redeem",
			map[string]string{"email": u.email, "code": u.code}, &res)
		u.state, u.pool = res.State, res.Pool
		return code, err
	}
}

// wrongFunc sends a well-formed code that does not exist (codes.New makes
// one in berth's own format), each request from a fresh address starting
// at base: many people mistyping, not one attacker (who would be
// throttled).
func (b *bench) wrongFunc(base int) requestFunc {
	return func(ctx context.Context, i int) (int, error) {
		idx := base + i
		return sendJSON(withSource(ctx, userAddr(idx)), b.pub, "POST", b.pubURL(idx)+"/api/v1/public/redeem",
			map[string]string{"email": fmt.Sprintf("w%d-%s@bench.example", idx, b.runID), "code": codes.New("")}, nil)
	}
}

// stateNote counts the states redeems answered.
func stateNote(users []user) string {
	counts := map[string]int{}
	for _, u := range users {
		if u.state != "" {
			counts[u.state]++
		}
	}
	if len(counts) == 0 {
		return "no seat answered"
	}
	return "answered " + joinCounts(counts, "%s %d")
}

// redeemValid: every user redeems a fresh code; all fit.
func (b *bench) redeemValid(ctx context.Context) ([]Result, error) {
	cfg := b.cfg
	if cfg.Teams*cfg.TeamCapacity < cfg.Users {
		cfg.logf("  note: %d teams × %d seats < %d users: some will be queued", cfg.Teams, cfg.TeamCapacity, cfg.Users)
	}
	if err := b.seedTeams(ctx, cfg.Teams); err != nil {
		return nil, err
	}
	users, err := b.newUsers(ctx, cfg.Users, usersValid, "u")
	if err != nil {
		return nil, err
	}
	b.waitJobsIdle(ctx)
	s := load(ctx, cfg.Clients, len(users), cfg.MaxDuration, b.redeemFunc(users))
	r := s.result("redeem-valid", s.answered())
	r.Notes = append(r.Notes, fmt.Sprintf("%d users onto %d teams of %d, %d clients", cfg.Users, cfg.Teams, cfg.TeamCapacity, cfg.Clients), stateNote(users))
	b.seat(users)
	b.validP99 = r.P99MS
	err = b.settleNote(ctx, &r)
	return []Result{r}, err
}

// redeemWrong: unknown codes, expect 403.
func (b *bench) redeemWrong(ctx context.Context) ([]Result, error) {
	s := load(ctx, b.cfg.Clients, b.cfg.Wrong, b.cfg.MaxDuration, b.wrongFunc(usersWrong))
	r := s.result("redeem-wrong", s.answered())
	r.Notes = append(r.Notes, fmt.Sprintf("unknown codes, %d clients, expect 403", b.cfg.Clients))
	return []Result{r}, nil
}

// redeemMixed: fresh users redeem valid codes while other clients send
// wrong codes as fast as they can; two rows.
func (b *bench) redeemMixed(ctx context.Context) ([]Result, error) {
	cfg := b.cfg
	if err := b.seedTeams(ctx, (cfg.MixedUsers+cfg.TeamCapacity-1)/cfg.TeamCapacity); err != nil {
		return nil, err
	}
	users, err := b.newUsers(ctx, cfg.MixedUsers, usersMixedValid, "m")
	if err != nil {
		return nil, err
	}
	b.waitJobsIdle(ctx)
	wctx, stopWrong := context.WithCancel(ctx)
	wrongDone := make(chan *sample)
	go func() {
		wrongDone <- load(wctx, cfg.MixedWrongClients, -1, cfg.MaxDuration, b.wrongFunc(usersMixedWrong))
	}()
	vs := load(ctx, cfg.Clients, len(users), cfg.MaxDuration, b.redeemFunc(users))
	stopWrong()
	ws := <-wrongDone

	b.seat(users)
	rv := vs.result("redeem-mixed: valid", vs.answered())
	rv.Notes = append(rv.Notes, fmt.Sprintf("%d fresh users, %d clients, while %d clients send wrong codes", cfg.MixedUsers, cfg.Clients, cfg.MixedWrongClients),
		stateNote(users))
	if b.validP99 > 0 {
		rv.Notes = append(rv.Notes, fmt.Sprintf("p99 %.2f× redeem-valid's alone", rv.P99MS/b.validP99))
	}
	rw := ws.result("redeem-mixed: wrong", ws.answered())
	rw.Notes = append(rw.Notes, fmt.Sprintf("%d clients, as fast as they can while the valid redeems run, expect 403", cfg.MixedWrongClients))
	err = b.settleNote(ctx, &rv)
	return []Result{rv, rw}, err
}

// seat remembers the users who got a seat (any state but an error).
func (b *bench) seat(users []user) {
	for i := range users {
		if users[i].pool != "" {
			b.seated = append(b.seated, &users[i])
		}
	}
}

// rebindStorm bans the first teams that hold users (redeem-valid's, and
// redeem-mixed's that landed there), then every user on them asks to move
// at once; it reports the requests and how long until all of them are
// active on a healthy team.
func (b *bench) rebindStorm(ctx context.Context) ([]Result, error) {
	cfg := b.cfg
	if len(b.seated) == 0 {
		cfg.logf("  rebind-storm needs redeem-valid's users: running redeem-valid first (not reported)")
		if _, err := b.redeemValid(ctx); err != nil {
			return nil, err
		}
	}
	byTeam := map[string][]*user{}
	for _, u := range b.seated {
		byTeam[u.pool] = append(byTeam[u.pool], u)
	}
	banned := map[string]bool{}
	var ids []int64
	var movers []*user
	for _, name := range b.teams {
		if len(ids) == cfg.BanTeams {
			break
		}
		if us := byTeam[name]; len(us) > 0 {
			banned[name] = true
			ids = append(ids, b.poolIDs[name])
			movers = append(movers, us...)
		}
	}
	if len(movers) == 0 {
		return nil, fmt.Errorf("no user holds a seat")
	}
	// Room for everyone who moves, and every earlier delivery done, so the
	// storm starts from active seats.
	if err := b.seedTeams(ctx, (len(movers)+cfg.TeamCapacity-1)/cfg.TeamCapacity); err != nil {
		return nil, err
	}
	if _, _, err := b.waitDelivered(ctx); err != nil {
		return nil, err
	}
	for start := 0; start < len(ids); start += 1000 {
		var res struct {
			Failed int `json:"failed_count"`
		}
		chunk := ids[start:min(start+1000, len(ids))]
		if err := b.admin.json(ctx, "PATCH", "/api/v1/pools/status",
			map[string]any{"ids": chunk, "status": "banned", "message": "berth bench: rebind storm"}, &res); err != nil {
			return nil, err
		}
		if res.Failed > 0 {
			return nil, fmt.Errorf("banning teams: %d of %d not changed", res.Failed, len(chunk))
		}
	}
	cfg.logf("  banned %d teams holding %d users", len(ids), len(movers))

	type answer struct {
		Free  bool   `json:"free"`
		State string `json:"state"`
	}
	answers := make([]answer, len(movers))
	t0 := time.Now()
	s := load(ctx, cfg.Clients, len(movers), cfg.MaxDuration, func(ctx context.Context, i int) (int, error) {
		u := movers[i]
		return sendJSON(withSource(ctx, userAddr(u.idx)), b.pub, "POST", b.pubURL(u.idx)+"/api/v1/public/rebind",
			map[string]string{"email": u.email, "code": u.code}, &answers[i])
	})
	r := s.result("rebind-storm", s.answered())
	free, states := 0, map[string]int{}
	for _, a := range answers {
		if a.Free {
			free++
		}
		if a.State != "" {
			states[a.State]++
		}
	}
	r.Notes = append(r.Notes, fmt.Sprintf("%d users on %d banned teams, %d clients; %d answered 200 (free %d, pending %d, queued %d)",
		len(movers), len(ids), cfg.Clients, s.ok(), free, states["pending"], states["queued"]))

	n, took, err := b.waitMoved(ctx, movers, banned, t0)
	if err != nil {
		return []Result{r}, err
	}
	r.Extra = map[string]float64{"moved": float64(n), "movers": float64(len(movers))}
	if n == len(movers) {
		r.Extra["all_active_s"] = took.Seconds()
		r.Notes = append(r.Notes, fmt.Sprintf("all %d active on a healthy team %.1fs after the storm began", n, took.Seconds()))
	} else {
		r.Notes = append(r.Notes, fmt.Sprintf("only %d of %d active on a healthy team after %.0fs", n, len(movers), took.Seconds()))
	}
	return []Result{r}, nil
}

// waitMoved polls the public status of every mover (from their own
// address, a few times a second at most) until each is active, not moving,
// on a team that is not banned, for at most --max-duration. It returns how
// many got there and the time since t0 when the last one was seen there.
func (b *bench) waitMoved(ctx context.Context, movers []*user, banned map[string]bool, t0 time.Time) (int, time.Duration, error) {
	pending := movers
	deadline := time.Now().Add(b.cfg.MaxDuration)
	var took time.Duration
	for len(pending) > 0 && time.Now().Before(deadline) {
		done := make([]bool, len(pending))
		load(ctx, b.cfg.Clients, len(pending), time.Until(deadline), func(ctx context.Context, i int) (int, error) {
			u := pending[i]
			q := url.Values{"email": {u.email}, "code": {u.code}}
			var st struct {
				State  string `json:"state"`
				Pool   string `json:"pool"`
				Moving bool   `json:"moving"`
			}
			code, err := sendJSON(withSource(ctx, userAddr(u.idx)), b.pub, "GET", b.pubURL(u.idx)+"/api/v1/public/status?"+q.Encode(), nil, &st)
			done[i] = code == 200 && st.State == "active" && !st.Moving && !banned[st.Pool]
			return code, err
		})
		took = time.Since(t0)
		var rest []*user
		for i, u := range pending {
			if !done[i] {
				rest = append(rest, u)
			}
		}
		pending = rest
		if len(pending) > 0 {
			if err := sleep(ctx, 250*time.Millisecond); err != nil {
				return 0, 0, err
			}
		}
	}
	return len(movers) - len(pending), took, ctx.Err()
}

// importAccounts sends credential files in batches onto fresh server
// pools; its rate counts accounts, its latencies are per batch.
func (b *bench) importAccounts(ctx context.Context) ([]Result, error) {
	cfg := b.cfg
	start := time.Now()
	if _, err := b.createPools(ctx, "server", cfg.Servers, cfg.ServerCapacity); err != nil {
		return nil, err
	}
	cfg.logf("  seeded %d servers of %d seats in %.1fs", cfg.Servers, cfg.ServerCapacity, time.Since(start).Seconds())
	salt, _ := strconv.ParseUint(b.runID, 16, 64)
	files := benchFiles(cfg.Accounts, cfg.FileSize, int(salt%1000))
	var batches []batch
	for i := 0; i < len(files); i += cfg.BatchSize {
		bt, err := buildBatch(importScript, files[i:min(i+cfg.BatchSize, len(files))])
		if err != nil {
			return nil, err
		}
		batches = append(batches, bt)
	}
	type counts struct{ Placed, Queued, Rejected int }
	outs := make([]counts, len(batches))
	s := load(ctx, cfg.ImportClients, len(batches), cfg.MaxDuration, func(ctx context.Context, i int) (int, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", b.t.urls[i%len(b.t.urls)]+"/api/v1/accounts/batch", batches[i].body())
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+b.t.token)
		req.Header.Set("Content-Type", batches[i].contentType)
		return doJSON(b.admin.HTTP, req, &outs[i])
	})
	var total counts
	for _, o := range outs {
		total.Placed += o.Placed
		total.Queued += o.Queued
		total.Rejected += o.Rejected
	}
	r := s.result("import", total.Placed+total.Queued+total.Rejected)
	r.Unit = "accounts"
	r.Notes = append(r.Notes,
		fmt.Sprintf("%d files of %d B in batches of %d, %d clients, onto %d servers of %d; latencies per batch", cfg.Accounts, cfg.FileSize, cfg.BatchSize,
			cfg.ImportClients, cfg.Servers, cfg.ServerCapacity),
		fmt.Sprintf("placed %d, queued %d, rejected %d", total.Placed, total.Queued, total.Rejected))
	if err := b.settleNote(ctx, &r); err != nil {
		return []Result{r}, err
	}
	// The yardstick: the same rows written raw, in this process, into a
	// fresh database of the same engine.
	if cfg.URL == "" {
		raw, err := rawInsert(ctx, cfg.DB, files, cfg.Servers, cfg.ServerCapacity, 100)
		if err != nil {
			return []Result{r}, err
		}
		r.Extra = map[string]float64{"raw_insert_accounts_per_s": raw, "x_raw_insert": r.RPS / raw}
		r.Notes = append(r.Notes, fmt.Sprintf("a raw insert of the same rows (no HTTP, no decisions; multi-row statements, 100 accounts a transaction) ran at %.0f accounts/s: import = %.2f × raw", raw, r.RPS/raw))
	}
	return []Result{r}, nil
}
