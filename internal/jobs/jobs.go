// Package jobs runs berth's durable side effects on River: delivering a
// member into its pool, removing it, draining the queue, and the periodic
// health probe and crash sweep. Jobs are inserted in the same transaction as
// the state change that needs them (River's InsertTx), on SQLite through
// riversqlite and on PostgreSQL through riverdatabasesql, so one *sql.Tx
// carries both. Workers are idempotent: a job that runs twice after a crash
// finds the seat already moved on, or the provider already holding the member.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/alloc/plans"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/crashpoint"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/providers"
	"github.com/berthhq/berth/internal/reconcile"
	"github.com/berthhq/berth/internal/reqid"
	"github.com/berthhq/berth/internal/store"
)

// Config tunes the queue; zero fields take defaults.
type Config struct {
	// MaxDeliveryAttempts: a seat whose delivery keeps failing with a
	// retryable answer (5xx, 429, timeout) gets at least this many attempts,
	// and is retried for DeliveryRetryFor, before its member is placed on
	// another pool. Permanent answers end it at once.
	MaxDeliveryAttempts int
	// DeliveryRetryFor is how long retryable failures of one seat's
	// delivery are retried (default 6h), the seat keeping its room
	// meanwhile: a provider that is down or flaky for a while strands
	// nobody (issue 11, finding 9).
	DeliveryRetryFor time.Duration
	// DeliveryRetryMaxDelay caps the wait between two delivery attempts,
	// a provider's Retry-After included (default 1m), so members are
	// seated soon after the provider recovers.
	DeliveryRetryMaxDelay time.Duration
	// MaxRemoveAttempts before a seat becomes release_failed (alert).
	MaxRemoveAttempts int
	// Providers opens pools' providers; its zero value is production's
	// (tests give each berth its own simulated pools).
	Providers providers.Env
	// Backoff gives the wait before retry n (1-based).
	Backoff func(attempt int) time.Duration
	// ProbeInterval, ProbeThreshold, ProbeTimeout drive the health monitor.
	ProbeInterval  time.Duration
	ProbeThreshold int
	ProbeTimeout   time.Duration
	// SweepInterval runs the crash sweep and queue drain.
	SweepInterval time.Duration
	// StuckAfter: a seat provisioning or releasing without progress this
	// long gets its job enqueued again by the sweep (default 15m).
	StuckAfter time.Duration
	// ExpireInterval runs code expiry.
	ExpireInterval time.Duration
	// ReconcileInterval compares team providers with berth's seats
	// (default 10m), report only.
	ReconcileInterval time.Duration
	// Warner sends expiry warnings every WarnInterval (default 1h); nil
	// when no mail server is configured.
	Warner       Warner
	WarnInterval time.Duration
	// MoveMailer tells team members of their finished moves (the
	// move_notice job, movenotice.go); nil when no mail server is
	// configured: then no such job is enqueued.
	MoveMailer MoveMailer
	// JobTimeout bounds one job; RescueAfter is when a job left running by a
	// dead process is retried.
	JobTimeout  time.Duration
	RescueAfter time.Duration
	// PollInterval is how often idle workers look for jobs.
	PollInterval time.Duration
	Workers      int
	// SampleInterval is how often the fleet is sampled for the
	// dashboard's charts (BERTH_FLEET_SAMPLE_EVERY, default 5m); the first
	// sample is taken at start, so a fresh install draws a point at once.
	// SampleRetention is how long samples are kept (default 90 days): the
	// sweep deletes older ones.
	SampleInterval  time.Duration
	SampleRetention time.Duration
	// RebalanceMovesPerMinute is how many moves of applied rebalance
	// plans run each RebalanceEvery (BERTH_REBALANCE_MOVES_PER_MINUTE,
	// default 10); RebalanceEvery is a minute but in tests (rebalance.go).
	RebalanceMovesPerMinute int
	RebalanceEvery          time.Duration
	// PlanRetention is how long a finished plan is kept: the sweep deletes
	// older ones (plans.Service.DeleteFinished). 0 keeps every plan; serve
	// sets BERTH_PLAN_RETENTION, default plans.DefaultRetention (30 days).
	PlanRetention time.Duration
}

func (c *Config) defaults() {
	default0(&c.MaxDeliveryAttempts, 5)
	default0(&c.MaxRemoveAttempts, 5)
	if c.Backoff == nil {
		c.Backoff = ExpBackoff(time.Second, 5*time.Minute)
	}
	default0(&c.DeliveryRetryMaxDelay, time.Minute)
	default0(&c.DeliveryRetryFor, 6*time.Hour)
	default0(&c.ProbeInterval, 30*time.Second)
	default0(&c.ProbeThreshold, 3)
	default0(&c.ProbeTimeout, 10*time.Second)
	default0(&c.SweepInterval, time.Minute)
	default0(&c.ExpireInterval, time.Minute)
	default0(&c.StuckAfter, 15*time.Minute)
	default0(&c.ReconcileInterval, 10*time.Minute)
	default0(&c.WarnInterval, time.Hour)
	default0(&c.JobTimeout, time.Minute)
	if c.RescueAfter <= c.JobTimeout {
		c.RescueAfter = c.JobTimeout + 30*time.Second
	}
	default0(&c.PollInterval, 200*time.Millisecond)
	default0(&c.Workers, 20)
	default0(&c.SampleInterval, 5*time.Minute)
	default0(&c.SampleRetention, 90*24*time.Hour)
	default0(&c.RebalanceMovesPerMinute, 10)
	default0(&c.RebalanceEvery, time.Minute)
}

// default0 sets *v to def when it is zero or negative.
func default0[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// ExpBackoff doubles from base up to max, with ±20% jitter.
func ExpBackoff(base, max time.Duration) func(int) time.Duration {
	return func(attempt int) time.Duration {
		d := base << min(attempt-1, 30)
		if d > max || d <= 0 {
			d = max
		}
		return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	}
}

// Queue is berth's job queue. It implements alloc.Enqueuer.
type Queue struct {
	client *river.Client[*sql.Tx]
	st     *store.Store
	svc    *alloc.Service
	pools  *pooladmin.Service // the probe's judgement
	cfg    Config
	log    *slog.Logger
}

func driverFor(st *store.Store) riverdriver.Driver[*sql.Tx] {
	if st.Dialect == store.Postgres {
		return riverdatabasesql.New(st.DB)
	}
	return riversqlite.New(st.DB)
}

// Migrate creates or upgrades River's tables.
func Migrate(ctx context.Context, st *store.Store) error {
	m, err := rivermigrate.New(driverFor(st), nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	return nil
}

// New builds the queue and wires it into svc as its Enqueuer.
func New(ctx context.Context, st *store.Store, svc *alloc.Service, cfg Config, log *slog.Logger) (*Queue, error) {
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	if err := Migrate(ctx, st); err != nil {
		return nil, err
	}
	q := &Queue{st: st, svc: svc, pools: pooladmin.New(st, svc), cfg: cfg, log: log}
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliverWorker{q: q})
	river.AddWorker(workers, &deliverBatchWorker{q: q})
	river.AddWorker(workers, &removeWorker{q: q})
	river.AddWorker(workers, &drainWorker{q: q})
	river.AddWorker(workers, &probeWorker{q: q})
	river.AddWorker(workers, &sweepWorker{q: q})
	river.AddWorker(workers, &countWorker[ExpireArgs]{log: log, what: "codes expired", run: codebook.New(st, svc).ExpireDue})
	river.AddWorker(workers, &countWorker[WarnArgs]{log: log, what: "expiry warnings sent", run: func(ctx context.Context) (int, error) {
		if cfg.Warner == nil {
			return 0, nil
		}
		return cfg.Warner.Run(ctx, time.Now())
	}})
	river.AddWorker(workers, &reconcileWorker{q: q})
	river.AddWorker(workers, &moveNoticeWorker{q: q})
	river.AddWorker(workers, &reconcilePoolWorker{q: q})
	river.AddWorker(workers, &checkPoolWorker{q: q})
	river.AddWorker(workers, &sampleWorker{q: q})
	river.AddWorker(workers, q.rebalanceStepWorker())
	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(cfg.ProbeInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ProbeArgs{}, nil }, nil),
		river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepInterval),
			func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(cfg.ExpireInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ExpireArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
	}
	periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.ReconcileInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil }, nil),
		river.NewPeriodicJob(river.PeriodicInterval(cfg.SampleInterval),
			func() (river.JobArgs, *river.InsertOpts) { return SampleArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(cfg.RebalanceEvery),
			func() (river.JobArgs, *river.InsertOpts) { return RebalanceStepArgs{}, rebalanceStepOpts() }, nil))
	if cfg.Warner != nil {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.WarnInterval),
			func() (river.JobArgs, *river.InsertOpts) { return WarnArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	client, err := river.NewClient(driverFor(st), &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		FetchCooldown:        min(50*time.Millisecond, cfg.PollInterval),
		FetchPollInterval:    cfg.PollInterval,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		Logger:               quiet(log),
		PollOnly:             true,
		PeriodicJobs:         periodic,
		Middleware:           []rivertype.Middleware{&jobID{}},
	})
	if err != nil {
		return nil, err
	}
	q.client = client
	svc.SetEnqueuer(q)
	return q, nil
}

// jobID puts "job-<kind>-<id>" in the context of every job worked, so the
// log lines written while working it (with a *Context logging method) name
// the job the way HTTP log lines name their request.
type jobID struct{ river.MiddlewareDefaults }

func (*jobID) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	return doInner(reqid.With(ctx, fmt.Sprintf("job-%s-%d", job.Kind, job.ID)))
}

// quiet keeps River's own logging to warnings and above, and its lines
// about a job that failed at the levels River v0.31 gave them: River
// v0.33 logs them at info ("not a problem inside River"), but for berth
// a failing job is a problem, and for most kinds (sweep, probe, expiry,
// rebalance step…) River's line is the only one that tells of it.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

// jobFailureLevels are River's job executor lines about a failed job
// (their message after "<service name>: ") and the level each is
// logged at.
var jobFailureLevels = map[string]slog.Level{
	"Job errored; retrying": slog.LevelWarn,
	"Job errored":           slog.LevelError,
	"Job panicked":          slog.LevelError,
}

func jobFailureLevel(msg string) (slog.Level, bool) {
	_, what, ok := strings.Cut(msg, ": ")
	if !ok {
		return 0, false
	}
	lvl, ok := jobFailureLevels[what]
	return lvl, ok
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	if l >= f.min {
		return f.Handler.Enabled(ctx, l)
	}
	// River logs the job failure lines at info: Handle raises them, or
	// drops the record.
	return l == slog.LevelInfo && f.Handler.Enabled(ctx, slog.LevelError)
}

func (f levelFilter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < f.min {
		lvl, ok := jobFailureLevel(r.Message)
		if !ok || !f.Handler.Enabled(ctx, lvl) {
			return nil
		}
		r.Level = lvl
	}
	return f.Handler.Handle(ctx, r)
}

func (f levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(as), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name), f.min}
}

// Start runs the workers and periodic jobs until Stop. On SQLite it first
// retries the jobs a process that ended left running (recover.go).
func (q *Queue) Start(ctx context.Context) error {
	n, err := retryOrphans(ctx, q.st)
	if err != nil {
		return err
	}
	if n > 0 {
		q.log.Info("retrying jobs left running by a berth process that ended", "jobs", n)
	}
	return q.client.Start(ctx)
}

// Stop waits for running jobs to finish.
func (q *Queue) Stop(ctx context.Context) error { return q.client.Stop(ctx) }

// attemptHeadroom keeps River from discarding a job before berth's own
// logic has ended its seat: the worker decides after MaxDeliveryAttempts
// (re-place) or MaxRemoveAttempts (release_failed), but a job whose process
// died mid-run, or whose final bookkeeping transaction failed, comes back
// with more attempts counted. Without the headroom River would discard it
// and leave the seat provisioning or releasing for good (the torture
// harness found 7 such seats on PostgreSQL).
const attemptHeadroom = 25

// Deliver implements alloc.Enqueuer.
func (q *Queue) Deliver(ctx context.Context, tx *store.Tx, seatID int64) error {
	_, err := q.client.InsertTx(ctx, tx.SQL, DeliverArgs{SeatID: seatID}, &river.InsertOpts{MaxAttempts: q.cfg.MaxDeliveryAttempts + attemptHeadroom})
	return err
}

// maxSeatsPerBatchJob bounds the seats one deliver_batch job carries.
const maxSeatsPerBatchJob = 256

// DeliverMany implements alloc.Enqueuer: one deliver_batch job for the seats
// a placement batch made (per 256 seats), instead of a River job each.
// River's per-job insert was most of a placement's cost (docs/bench.md).
func (q *Queue) DeliverMany(ctx context.Context, tx *store.Tx, seatIDs []int64) error {
	for start := 0; start < len(seatIDs); start += maxSeatsPerBatchJob {
		ids := slices.Clone(seatIDs[start:min(start+maxSeatsPerBatchJob, len(seatIDs))])
		if _, err := q.client.InsertTx(ctx, tx.SQL, DeliverBatchArgs{SeatIDs: ids}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Remove implements alloc.Enqueuer.
func (q *Queue) Remove(ctx context.Context, tx *store.Tx, seatID int64) error {
	_, err := q.client.InsertTx(ctx, tx.SQL, RemoveArgs{SeatID: seatID}, &river.InsertOpts{MaxAttempts: q.cfg.MaxRemoveAttempts + attemptHeadroom})
	return err
}

// DrainQueue implements alloc.Enqueuer: a drain job, if anyone of kind
// waits (in tx's view). Nobody waiting, nothing to drain: a seat released
// or a pool added then is taken by the next placement directly (alloc's
// drainIfWaiting checks again once the index has the room).
func (q *Queue) DrainQueue(ctx context.Context, tx *store.Tx, kind model.Kind) error {
	if waiting, err := tx.QueueWaiting(ctx, kind); err != nil || !waiting {
		return err
	}
	_, err := q.client.InsertTx(ctx, tx.SQL, DrainQueueArgs{PoolKind: kind}, nil)
	return err
}

// DeliverArgs delivers one seat. Prior counts the attempts made before
// this job (a deliver_batch job's first attempt), so a seat gets
// MaxDeliveryAttempts in all either way.
type DeliverArgs struct {
	SeatID int64 `json:"seat_id"`
	Prior  int   `json:"prior,omitempty"`
	// NotBefore: the job is inserted available and waits (snoozes) until
	// then. A job inserted scheduled waited for River's scheduler too,
	// which runs every 5 s: a hand-off's first retry came up to 5 s late.
	NotBefore time.Time `json:"not_before,omitzero"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "deliver" }

// DeliverBatchArgs makes the first delivery attempt of many new seats; a
// seat whose attempt fails and may succeed later goes on as its own
// deliver job.
type DeliverBatchArgs struct {
	SeatIDs []int64 `json:"seat_ids"`
}

// Kind implements river.JobArgs.
func (DeliverBatchArgs) Kind() string { return "deliver_batch" }

// RemoveArgs removes one releasing seat.
type RemoveArgs struct {
	SeatID int64 `json:"seat_id"`
}

// Kind implements river.JobArgs.
func (RemoveArgs) Kind() string { return "remove" }

// DrainQueueArgs drains one kind's waiting queue.
type DrainQueueArgs struct {
	PoolKind model.Kind `json:"kind"`
}

// Kind implements river.JobArgs.
func (DrainQueueArgs) Kind() string { return "drain_queue" }

// ProbeArgs runs the health monitor once.
type ProbeArgs struct{}

// Kind implements river.JobArgs.
func (ProbeArgs) Kind() string { return "probe" }

// SweepArgs places members a crash left pending and drains the queues.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "sweep" }

// openPool opens a pool's provider from its stored settings, instrumented
// (provider metrics count every call, and the pool's health records each
// outcome: observe.go). Every job that calls a provider
// (delivery, removal, probe, reconcile) opens it here. A failure to open
// the settings is pool-permanent.
func (q *Queue) openPool(ctx context.Context, poolID int64, name string) (provider.Provider, error) {
	typ, cfg, err := q.st.PoolProvider(ctx, poolID)
	if err != nil {
		return nil, err
	}
	p, err := q.cfg.Providers.Open(name, typ, cfg)
	if err != nil {
		return nil, &provider.Error{Class: provider.PoolPermanent, Err: err}
	}
	return q.observe(poolID, metrics.InstrumentProvider(typ, p)), nil
}

// openTeam is openPool as a reconcile.Opener.
func (q *Queue) openTeam(ctx context.Context, p model.Pool) (provider.Provider, error) {
	return q.openPool(ctx, p.ID, p.Name)
}

// seatProvider opens the provider and member of a seat.
func (q *Queue) seatProvider(ctx context.Context, seat model.Seat) (provider.Provider, provider.Member, error) {
	p, err := q.openPool(ctx, seat.PoolID, seat.Pool)
	if err != nil {
		return nil, provider.Member{}, err
	}
	name, data, err := q.st.MemberFile(ctx, seat.MemberID)
	if err != nil {
		return nil, provider.Member{}, err
	}
	return p, provider.Member{ID: seat.Member, FileName: name, Data: data}, nil
}

// seatJob loads the seat a job works on. A zero seat means there is nothing
// to do: the seat is gone (the job is cancelled) or has left the states the
// job handles (another run finished it). Otherwise err, if any, is the
// failure to open the seat's provider, for the worker to classify.
func (q *Queue) seatJob(ctx context.Context, seatID int64, states ...model.SeatState) (model.Seat, provider.Provider, provider.Member, error) {
	seat, err := q.st.SeatGet(ctx, seatID)
	if errors.Is(err, store.ErrNotFound) {
		return model.Seat{}, nil, provider.Member{}, river.JobCancel(err)
	}
	if err != nil {
		return model.Seat{}, nil, provider.Member{}, err
	}
	if !slices.Contains(states, seat.State) {
		return model.Seat{}, nil, provider.Member{}, nil
	}
	p, m, err := q.seatProvider(ctx, seat)
	return seat, p, m, err
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	q *Queue
}

func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(min(w.q.cfg.Backoff(job.Attempt+job.Args.Prior), w.q.cfg.DeliveryRetryMaxDelay))
}

// giveUp tells whether a seat's delivery ends after attempt (1-based)
// failed with class, its retries having begun at since: at once for a
// permanent answer; for a retryable one only when MaxDeliveryAttempts and
// DeliveryRetryFor are both spent. Until then the seat keeps its room and
// the user is told it is being set up (a flaky provider used to lose the
// seat after 5 failures in about 15 s: issue 11, finding 9).
func (q *Queue) giveUp(class provider.Class, attempt int, since time.Time) bool {
	return class != provider.Retryable || (attempt >= q.cfg.MaxDeliveryAttempts && time.Since(since) >= q.cfg.DeliveryRetryFor)
}

// retryDelay is the wait after failed delivery attempt n (1-based): the
// backoff, or the provider's Retry-After, at most DeliveryRetryMaxDelay.
func (q *Queue) retryDelay(n int, err error) time.Duration {
	d := q.cfg.Backoff(n)
	var pe *provider.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		d = pe.RetryAfter
	}
	return min(d, q.cfg.DeliveryRetryMaxDelay)
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	q := w.q
	if wait := time.Until(job.Args.NotBefore); wait > 0 {
		return river.JobSnooze(wait)
	}
	seat, p, m, err := q.seatJob(ctx, job.Args.SeatID, model.SeatProvisioning, model.SeatReserved)
	if seat.ID == 0 {
		return err // gone, or delivered, failed or released meanwhile
	}
	pctx, notes := provider.WithNotes(ctx) // what the provider reports, for the history
	if err == nil {
		crashpoint.Hit("deliver.before-put")
		err = p.Put(pctx, m)
	}
	if err == nil {
		crashpoint.Hit("deliver.after-put")
		return q.svc.Delivered(ctx, seat.ID, notes.String())
	}
	class := provider.Classify(err)
	// A snoozed job's attempt does not grow (River takes a snooze back);
	// the seat counts every failed attempt.
	attempt := max(job.Attempt+job.Args.Prior, seat.Attempts+1)
	q.log.WarnContext(ctx, "delivery failed", "seat", seat.ID, "member", seat.Member, "pool", seat.Pool, "attempt", attempt, "class", class, "err", err)
	// The job's deadline may be what cut the call; the bookkeeping runs anyway.
	bctx := context.WithoutCancel(ctx)
	if aerr := q.svc.DeliveryAttempt(bctx, seat.ID, err); aerr != nil {
		return aerr
	}
	if q.giveUp(class, attempt, job.CreatedAt) {
		return q.svc.DeliveryFailed(bctx, seat.ID, class, err)
	}
	// A snooze is not a failure to River (nor an attempt): the job lasts
	// the whole span (DeliveryRetryFor) however many tries that takes.
	return river.JobSnooze(q.retryDelay(attempt, err))
}

// deliverBatchWorker makes the first attempt of each seat of a placement
// batch, a few seats at a time. Success ends the seat's delivery as the
// deliver job would; a permanent failure ends the seat as after a deliver
// job's last attempt; a retryable one (or a seat left when the job runs out
// of time) is handed to a deliver job of its own, which retries with
// backoff. Run again after a crash, the job skips seats already delivered
// or ended; a seat that also has a deliver job by then may get a second
// Put, which providers take as a no-op.
type deliverBatchWorker struct {
	river.WorkerDefaults[DeliverBatchArgs]
	q *Queue
}

// batchParallel is how many seats of one batch job are delivered at once.
const batchParallel = 8

func (w *deliverBatchWorker) Work(ctx context.Context, job *river.Job[DeliverBatchArgs]) error {
	q := w.q
	ids := job.Args.SeatIDs
	errs := make([]error, len(ids))
	delivered := make([]bool, len(ids))
	notes := make([]string, len(ids)) // what the provider reported, for the history
	sem := make(chan struct{}, batchParallel)
	var wg sync.WaitGroup
	var rest error
	for i, id := range ids {
		if dl, ok := ctx.Deadline(); ctx.Err() != nil || (ok && time.Until(dl) < q.cfg.JobTimeout/4) {
			// Out of time: the rest get deliver jobs of their own.
			wg.Wait()
			rest = q.handOff(context.WithoutCancel(ctx), ids[i:], 0, 0)
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			pctx, n := provider.WithNotes(ctx)
			delivered[i], errs[i] = q.deliverFirst(pctx, id)
			notes[i] = n.String()
		})
	}
	wg.Wait()
	// The successes are recorded together: one transaction, not one each.
	var done []int64
	noted := map[int64]string{}
	for i, ok := range delivered {
		if ok {
			done = append(done, ids[i])
			if notes[i] != "" {
				noted[ids[i]] = notes[i]
			}
		}
	}
	if len(done) > 0 {
		errs = append(errs, q.svc.DeliveredMany(context.WithoutCancel(ctx), done, noted))
	}
	return errors.Join(errors.Join(errs...), rest)
}

// deliverFirst makes one seat's first delivery attempt (deliver_batch);
// delivered reports a successful Put, for the caller to record.
func (q *Queue) deliverFirst(ctx context.Context, seatID int64) (delivered bool, err error) {
	seat, p, m, err := q.seatJob(ctx, seatID, model.SeatProvisioning, model.SeatReserved)
	if seat.ID == 0 {
		var cancel *river.JobCancelError
		if errors.As(err, &cancel) {
			return false, nil // the seat is gone
		}
		return false, err
	}
	if err == nil {
		crashpoint.Hit("deliver.before-put")
		err = p.Put(ctx, m)
	}
	if err == nil {
		crashpoint.Hit("deliver.after-put")
		return true, nil
	}
	class := provider.Classify(err)
	q.log.WarnContext(ctx, "delivery failed", "seat", seat.ID, "member", seat.Member, "pool", seat.Pool, "attempt", 1, "class", class, "err", err)
	// The job's deadline may be what cut the call; the bookkeeping and the
	// hand-off run anyway (else the seat waited for this job's retry).
	bctx := context.WithoutCancel(ctx)
	if aerr := q.svc.DeliveryAttempt(bctx, seat.ID, err); aerr != nil {
		return false, aerr
	}
	if q.giveUp(class, 1, time.Now()) {
		return false, q.svc.DeliveryFailed(bctx, seat.ID, class, err)
	}
	return false, q.handOff(bctx, []int64{seat.ID}, 1, q.retryDelay(1, err))
}

// handOff gives seats deliver jobs of their own, to run after wait, prior
// attempts having been made.
func (q *Queue) handOff(ctx context.Context, seatIDs []int64, prior int, wait time.Duration) error {
	if len(seatIDs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(seatIDs))
	for i, id := range seatIDs {
		params[i] = river.InsertManyParams{Args: DeliverArgs{SeatID: id, Prior: prior, NotBefore: time.Now().Add(wait)},
			InsertOpts: &river.InsertOpts{MaxAttempts: q.cfg.MaxDeliveryAttempts + attemptHeadroom}}
	}
	return q.st.InTx(ctx, func(tx *store.Tx) error {
		_, err := q.client.InsertManyTx(ctx, tx.SQL, params)
		return err
	})
}

type removeWorker struct {
	river.WorkerDefaults[RemoveArgs]
	q *Queue
}

func (w *removeWorker) NextRetry(job *river.Job[RemoveArgs]) time.Time {
	return time.Now().Add(w.q.cfg.Backoff(job.Attempt))
}

func (w *removeWorker) Work(ctx context.Context, job *river.Job[RemoveArgs]) error {
	q := w.q
	seat, p, m, err := q.seatJob(ctx, job.Args.SeatID, model.SeatReleasing, model.SeatReleaseFailed)
	if seat.ID == 0 {
		return err
	}
	// Defence in depth: if the member holds a live seat on the same pool
	// again, removing it by id would take that one out too.
	live, lerr := q.st.SeatList(ctx, store.SeatFilter{MemberID: seat.MemberID, PoolID: seat.PoolID,
		States: []model.SeatState{model.SeatReserved, model.SeatProvisioning, model.SeatActive}, Limit: 1})
	if lerr != nil {
		return lerr
	}
	if len(live) > 0 {
		q.log.WarnContext(ctx, "removal skipped: the member holds a live seat on the same pool again", "seat", seat.ID, "pool", seat.Pool)
		return q.svc.Released(ctx, seat.ID)
	}
	pctx, notes := provider.WithNotes(ctx) // what the provider reports, for the history
	if err == nil {
		crashpoint.Hit("remove.before-remove")
		err = p.Remove(pctx, m)
	}
	if err == nil {
		crashpoint.Hit("remove.after-remove")
		return q.svc.ReleasedNoted(ctx, seat.ID, notes.String())
	}
	q.log.WarnContext(ctx, "removal failed", "seat", seat.ID, "member", seat.Member, "pool", seat.Pool, "attempt", job.Attempt, "err", err)
	if provider.Classify(err) == provider.PoolPermanent {
		// Our credentials are refused: the team is marked (and nobody new
		// goes there); removal keeps retrying until an admin fixes them or
		// the retries are spent (release_failed, alert).
		if merr := q.svc.PoolRefused(ctx, seat.PoolID, err); merr != nil {
			return merr
		}
	}
	if job.Attempt >= q.cfg.MaxRemoveAttempts {
		return q.svc.ReleaseFailed(ctx, seat.ID, err)
	}
	var pe *provider.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		return river.JobSnooze(pe.RetryAfter)
	}
	return err
}

type drainWorker struct {
	river.WorkerDefaults[DrainQueueArgs]
	q *Queue
}

// NextRetry: a drain is only a nudge (idempotent, each chunk committed on
// its own), so a failed one is tried again within seconds, not after
// River's attempt⁴ backoff. A long queue can make a drain outlast its
// job timeout several times in a row; with the default backoff its fifth
// try came 10 minutes later (found by the torture harness's long run: a
// drain_queue job left retryable past the settle bound).
func (w *drainWorker) NextRetry(job *river.Job[DrainQueueArgs]) time.Time {
	return time.Now().Add(time.Duration(min(job.Attempt, 10)) * time.Second)
}

func (w *drainWorker) Work(ctx context.Context, job *river.Job[DrainQueueArgs]) error {
	_, err := w.q.svc.DrainQueue(ctx, job.Args.PoolKind)
	return err
}

type probeWorker struct {
	river.WorkerDefaults[ProbeArgs]
	q *Queue
}

func (w *probeWorker) Work(ctx context.Context, job *river.Job[ProbeArgs]) error {
	q := w.q
	_, err := q.pools.Probe(ctx, q.cfg.ProbeThreshold, q.cfg.ProbeTimeout, func(ctx context.Context, p model.Pool) error {
		typ, cfg, err := q.st.PoolProvider(ctx, p.ID)
		if err != nil {
			return err
		}
		prov, err := q.cfg.Providers.Open(p.Name, typ, cfg)
		if err != nil {
			return err
		}
		return q.observe(p.ID, metrics.InstrumentProvider(typ, prov)).Check(ctx)
	})
	return err
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	q *Queue
}

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	n, err := w.q.svc.SweepPending(ctx)
	if err != nil {
		return err
	}
	if stuck, err := w.q.svc.SweepStuck(ctx, w.q.cfg.StuckAfter); err != nil {
		return err
	} else if stuck > 0 {
		w.q.log.WarnContext(ctx, "jobs of stuck seats enqueued again", "count", stuck)
	}
	if n > 0 {
		w.q.log.InfoContext(ctx, "placed members left pending by an interrupted batch", "count", n)
	}
	for _, k := range model.Kinds() {
		if _, err := w.q.svc.DrainQueue(ctx, k); err != nil {
			return err
		}
	}
	// The fleet samples' retention: one indexed DELETE (the key starts
	// with the time), nearly always of nothing or of one sample's rows.
	if _, err := w.q.st.FleetSamplesDeleteBefore(ctx, time.Now().Add(-w.q.cfg.SampleRetention)); err != nil {
		return err
	}
	// The plans' retention: one DELETE on a partial index, of the plans
	// finished before the retention (none with a paced move scheduled).
	if n, err := plans.New(w.q.st, w.q.svc).DeleteFinished(ctx, w.q.cfg.PlanRetention); err != nil {
		return err
	} else if n > 0 {
		w.q.log.InfoContext(ctx, "finished plans past their retention deleted", "count", n)
	}
	return nil
}

// SampleArgs records one sample of the fleet (store.FleetSampleRecord)
// for the dashboard's charts and GET /api/v1/fleet/samples.
type SampleArgs struct{}

// Kind implements river.JobArgs.
func (SampleArgs) Kind() string { return "fleet_sample" }

type sampleWorker struct {
	river.WorkerDefaults[SampleArgs]
	q *Queue
}

// Work records the fleet now. The time is truncated to the second: a job
// run twice in one second (a retry) writes nothing the second time.
func (w *sampleWorker) Work(ctx context.Context, job *river.Job[SampleArgs]) error {
	_, err := w.q.st.FleetSampleRecord(ctx, w.q.st.Now().Truncate(time.Second))
	return err
}

// ExpireArgs ends the codes whose time is up.
type ExpireArgs struct{}

// Kind implements river.JobArgs.
func (ExpireArgs) Kind() string { return "expire" }

// countWorker runs a periodic job that handles some number of things and
// logs how many.
type countWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	log  *slog.Logger
	what string
	run  func(ctx context.Context) (int, error)
}

func (w *countWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	n, err := w.run(ctx)
	if n > 0 {
		w.log.InfoContext(ctx, w.what, "count", n)
	}
	return err
}

// Warner sends expiry warnings (package notify).
type Warner interface {
	Run(ctx context.Context, now time.Time) (int, error)
}

// WarnArgs sends due expiry warnings.
type WarnArgs struct{}

// Kind implements river.JobArgs.
func (WarnArgs) Kind() string { return "expiry_warnings" }

// ReconcileArgs compares every healthy team's provider with its seats.
type ReconcileArgs struct{}

// Kind implements river.JobArgs.
func (ReconcileArgs) Kind() string { return "reconcile" }

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	q *Queue
}

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileArgs]) error {
	reports, err := reconcile.All(ctx, w.q.st, w.q.openTeam, w.q.svc)
	for _, r := range reports {
		if !r.Clean() {
			w.q.log.WarnContext(ctx, "team drift", "pool", r.Pool, "unknown", len(r.Unknown), "missing", len(r.Missing), "pending", len(r.Pending))
		}
	}
	return err
}

// ReconcilePoolArgs works one reconcile run asked for through the API
// (reconcile.Start recorded it; the report is written to it).
type ReconcilePoolArgs struct {
	RunID int64 `json:"run_id"`
}

// Kind implements river.JobArgs.
func (ReconcilePoolArgs) Kind() string { return "reconcile_pool" }

// ReconcilePool implements reconcile.Enqueuer.
func (q *Queue) ReconcilePool(ctx context.Context, tx *store.Tx, runID int64) error {
	_, err := q.client.InsertTx(ctx, tx.SQL, ReconcilePoolArgs{RunID: runID}, nil)
	return err
}

type reconcilePoolWorker struct {
	river.WorkerDefaults[ReconcilePoolArgs]
	q *Queue
}

func (w *reconcilePoolWorker) Work(ctx context.Context, job *river.Job[ReconcilePoolArgs]) error {
	return reconcile.Execute(ctx, w.q.st, w.q.openTeam, w.q.svc, job.Args.RunID)
}
