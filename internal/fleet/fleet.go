// Package fleet is the read model of the fleet's state: one Summary of the
// pools (by kind, status and group), seats, queue, River jobs, moves,
// integrity findings and the capacity forecast, read from the store's read
// pool. /metrics, the console's dashboard and Telegram (/status and the
// alerts) all read it; a Reader shares one read among concurrent callers
// and reuses it for a while.
package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// DefaultTTL is how long a Reader reuses one read of the counts (pools,
// seats, queue, jobs); concurrent callers share one read.
const DefaultTTL = 10 * time.Second

// DefaultSlowTTL is how long a Reader reuses the checks (the integrity
// check, the move totals and the capacity forecast), which cost more.
const DefaultSlowTTL = 30 * time.Second

// MaxUnhealthy bounds Summary.Unhealthy.
const MaxUnhealthy = 1000

// Summary is one read of the fleet. Each part carries its own error: a
// part that failed is empty and the others are still there. A Summary a
// Reader returns is shared with other callers: do not change it.
type Summary struct {
	Counts
	Checks
}

// Counts is the cheap part of a Summary, every number aggregated in the
// database.
type Counts struct {
	// At is when the counts were read (the Reader's clock).
	At time.Time

	// Pools aggregates the pools by kind, status and group; PoolCount is
	// their number. PerPool lists them one by one (by priority, then name)
	// while there are at most Options.PoolSeries of them, else it is nil.
	// Unhealthy lists the pools banned, credential_invalid or offline (at
	// most MaxUnhealthy).
	Pools     []store.PoolGroup
	PoolCount int
	PerPool   []store.PoolBrief
	Unhealthy []store.PoolBrief
	PoolsErr  error

	// Seats aggregates the seats by their pool's kind and their state.
	Seats    []store.SeatGroup
	SeatsErr error

	// Queue aggregates the queue by kind and type (new or move).
	Queue    []store.QueueGroup
	QueueErr error

	// Jobs aggregates River's jobs but the completed ones by kind and state.
	Jobs    []store.JobGroup
	JobsErr error
}

// Checks is the costly part of a Summary.
type Checks struct {
	// CheckedAt is when the checks were made (the Reader's clock).
	CheckedAt time.Time

	Integrity    integrity.Report
	IntegrityErr error

	// Moves aggregates the moves by state and whether they were paid.
	Moves    []store.MoveGroup
	MovesErr error

	// Forecast is the capacity outlook of every kind and group with pools.
	Forecast    []Forecast
	ForecastErr error
}

// KindTotals sums the pools of one kind.
type KindTotals struct {
	Pools, Capacity, Used int
	// Free counts the free seats of the active pools.
	Free int
	// Unhealthy counts the pools banned, credential_invalid or offline.
	Unhealthy int
	ByStatus  map[model.PoolStatus]int
}

// Kind sums the pools of kind k (from Pools).
func (s *Summary) Kind(k model.Kind) KindTotals {
	t := KindTotals{ByStatus: map[model.PoolStatus]int{}}
	for _, g := range s.Pools {
		if g.Kind != k {
			continue
		}
		t.Pools += g.Pools
		t.Capacity += g.Capacity
		t.Used += g.Used
		t.ByStatus[g.Status] += g.Pools
		if g.Status == model.StatusActive {
			t.Free += g.Free
		}
		if g.Status.Unhealthy() {
			t.Unhealthy += g.Pools
		}
	}
	return t
}

// SeatsByState sums the seats of every kind by state.
func (s *Summary) SeatsByState() map[model.SeatState]int {
	out := map[model.SeatState]int{}
	for _, g := range s.Seats {
		out[g.State] += g.Seats
	}
	return out
}

// Queued is how many entries of kind k wait in the queue (new and moves).
func (s *Summary) Queued(k model.Kind) int {
	n := 0
	for _, g := range s.Queue {
		if g.Kind == k {
			n += g.Entries
		}
	}
	return n
}

// Findings counts the integrity check's findings of every sort.
func (s *Summary) Findings() int {
	r := s.Integrity
	return len(r.Orphans) + len(r.Overbooked) + len(r.ZombieMoves) + len(r.Drift)
}

// Options tune a read; zero values take the defaults.
type Options struct {
	// TTL is how long a Reader reuses the counts (DefaultTTL).
	TTL time.Duration
	// SlowTTL is how long a Reader reuses the checks (DefaultSlowTTL).
	SlowTTL time.Duration
	// PoolSeries is the largest fleet whose pools are listed one by one
	// (Counts.PerPool); 0 or less: never.
	PoolSeries int
	// Integrity tunes the integrity check.
	Integrity integrity.Options
	// Forecast tunes the capacity forecast.
	Forecast ForecastOptions
	// Now is the clock of At, CheckedAt and the caches (time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.SlowTTL <= 0 {
		o.SlowTTL = DefaultSlowTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Read reads a whole Summary now, with no cache: for a caller that must
// see a change it just made.
func Read(ctx context.Context, q *store.Queries, o Options) *Summary {
	o = o.withDefaults()
	s := &Summary{}
	var wg sync.WaitGroup
	wg.Go(func() { s.Checks = readChecks(ctx, q, o) })
	s.Counts = readCounts(ctx, q, o)
	wg.Wait()
	return s
}

// readCounts makes the four reads of the counts side by side (they fill
// distinct fields).
func readCounts(ctx context.Context, q *store.Queries, o Options) Counts {
	c := Counts{At: o.Now()}
	var wg sync.WaitGroup
	wg.Go(func() { c.PoolsErr = readPools(ctx, q, o.PoolSeries, &c) })
	wg.Go(func() { c.Seats, c.SeatsErr = q.FleetSeatGroups(ctx) })
	wg.Go(func() { c.Queue, c.QueueErr = q.FleetQueueGroups(ctx) })
	wg.Go(func() { c.Jobs, c.JobsErr = q.FleetJobGroups(ctx) })
	wg.Wait()
	return c
}

func readPools(ctx context.Context, q *store.Queries, series int, c *Counts) error {
	var err error
	if c.Pools, err = q.FleetPoolGroups(ctx); err != nil {
		return err
	}
	unhealthy := 0
	for _, g := range c.Pools {
		c.PoolCount += g.Pools
		if g.Status.Unhealthy() {
			unhealthy += g.Pools
		}
	}
	c.Unhealthy = []store.PoolBrief{}
	if unhealthy > 0 { // the pools are read again only when some are unhealthy
		if c.Unhealthy, err = q.FleetPools(ctx, MaxUnhealthy, model.StatusBanned, model.StatusCredentialInvalid, model.StatusOffline); err != nil {
			return err
		}
	}
	if series <= 0 || c.PoolCount > series {
		return nil
	}
	// One more than the cap: pools made since the count must not lift it.
	per, err := q.FleetPools(ctx, series+1)
	if err != nil {
		return err
	}
	if len(per) <= series {
		c.PerPool = per
	}
	return nil
}

func readChecks(ctx context.Context, q *store.Queries, o Options) Checks {
	c := Checks{CheckedAt: o.Now()}
	c.Integrity, c.IntegrityErr = integrity.Check(ctx, q, o.Integrity)
	c.Moves, c.MovesErr = q.FleetMoveGroups(ctx)
	c.Forecast, c.ForecastErr = ComputeForecast(ctx, q, q.Now(), o.Forecast)
	return c
}

// Reader reads Summaries through a cache: the counts at most once per
// TTL, callers that arrive while a read runs waiting for it and sharing
// its result (single flight); the checks at most once per SlowTTL, made
// beside the counts.
type Reader struct {
	q *store.Queries
	o Options

	mu     sync.Mutex
	cur    *Counts
	flight *flight
	reads  int

	slowMu sync.Mutex
	slow   *Checks
}

type flight struct {
	done chan struct{}
	res  Counts
}

// New returns a Reader of q, which should be the store's read pool
// (store.Store.Reader).
func New(q *store.Queries, o Options) *Reader {
	return &Reader{q: q, o: o.withDefaults()}
}

// Reads is how many times the counts were read (tests and diagnostics).
func (r *Reader) Reads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads
}

// Summary returns the counts no older than TTL and the checks no older
// than SlowTTL.
func (r *Reader) Summary(ctx context.Context) *Summary {
	slow := make(chan Checks, 1)
	go func() { slow <- r.checks(ctx) }()
	s := &Summary{Counts: r.counts(ctx)}
	s.Checks = <-slow
	return s
}

// counts returns the cached counts or reads them (single flight).
func (r *Reader) counts(ctx context.Context) Counts {
	now := r.o.Now()
	r.mu.Lock()
	if c := r.cur; c != nil && now.Sub(c.At) < r.o.TTL {
		r.mu.Unlock()
		return *c
	}
	if fl := r.flight; fl != nil {
		r.mu.Unlock()
		select {
		case <-fl.done:
			return fl.res
		case <-ctx.Done():
			err := fmt.Errorf("waiting for the fleet read: %w", ctx.Err())
			return Counts{At: now, PoolsErr: err, SeatsErr: err, QueueErr: err, JobsErr: err}
		}
	}
	fl := &flight{done: make(chan struct{})}
	r.flight = fl
	r.reads++
	r.mu.Unlock()

	c := readCounts(ctx, r.q, r.o)

	r.mu.Lock()
	r.cur, r.flight = &c, nil
	fl.res = c
	close(fl.done)
	r.mu.Unlock()
	return c
}

// checks returns the cached checks or makes them; concurrent callers
// wait for one.
func (r *Reader) checks(ctx context.Context) Checks {
	r.slowMu.Lock()
	defer r.slowMu.Unlock()
	if c := r.slow; c != nil && r.o.Now().Sub(c.CheckedAt) < r.o.SlowTTL {
		return *c
	}
	c := readChecks(ctx, r.q, r.o)
	r.slow = &c
	return c
}
