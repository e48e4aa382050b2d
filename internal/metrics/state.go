package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// The gauges below are read from the database at scrape time, like those of
// metrics.go: every replica reports the same numbers, so aggregate them with
// max (not sum) across instances. The pools, seats, queue and jobs are read
// in one aggregated read shared by the scrapes of Config.TTL (fleet.go); the
// expensive ones (the integrity check, move totals, the capacity forecast)
// are cached for SlowTTL.

// SlowTTL is how long the result of the integrity check, the move totals
// and the capacity forecast are reused between scrapes.
const SlowTTL = 30 * time.Second

var (
	seatsByKind = prometheus.NewDesc(ns+"_seats_by_kind", "Seats by pool kind and state.", []string{"kind", "state"}, nil)
	// A retryable delivery failure is retried for hours (BERTH_DELIVERY_RETRY_FOR)
	// with the seat kept: this says how long the oldest such seat has waited.
	seatsPendingAge = prometheus.NewDesc(ns+"_seats_provisioning_oldest_age_seconds", "Age of the oldest seat being set up (placed, not yet delivered: the provider is being retried), by kind; 0 when none is.", []string{"kind"}, nil)

	queueWaiting   = prometheus.NewDesc(ns+"_queue_waiting", "Entries waiting in the queue by kind and type (new: a member without a seat; move: a member waiting to move, keeping its seat).", []string{"kind", "type"}, nil)
	queueOldestAge = prometheus.NewDesc(ns+"_queue_oldest_age_seconds", "Age of the oldest entry in the kind's queue; 0 when the queue is empty.", []string{"kind"}, nil)

	capacityTotal = prometheus.NewDesc(ns+"_capacity", "Capacity of the pools by kind, status and group label.", []string{"kind", "status", "group"}, nil)
	capacityUsed  = prometheus.NewDesc(ns+"_capacity_used", "Seats counted against the pools' capacity by kind, status and group label.", []string{"kind", "status", "group"}, nil)
	poolsCount    = prometheus.NewDesc(ns+"_pools", "Number of pools by kind, status and group label.", []string{"kind", "status", "group"}, nil)

	jobsByState = prometheus.NewDesc(ns+"_jobs", "Jobs in the durable job queue (River) by kind and state; completed jobs are not counted, discarded ones are jobs that failed for good (kept 7 days).", []string{"kind", "state"}, nil)
	jobsOldest  = prometheus.NewDesc(ns+"_jobs_oldest_available_age_seconds", "How long the oldest job ready to run has waited, by kind; 0 when none waits.", []string{"kind"}, nil)

	orphanUsers    = prometheus.NewDesc("orphan_users_count", "Members holding more live seats than a pending move explains, for longer than the grace period (should always be 0).", nil, nil)
	zombieMoves    = prometheus.NewDesc("zombie_rebind_tasks", "Moves (rebinds) pending for longer than they should.", nil, nil)
	overbooked     = prometheus.NewDesc(ns+"_integrity_overbooked_pools", "Pools holding more than their capacity.", nil, nil)
	drift          = prometheus.NewDesc(ns+"_integrity_drift", "Recorded counters that disagree with what they derive from, by kind (pool_used, code_used, code_rebind).", []string{"kind"}, nil)
	integrityTrunc = prometheus.NewDesc(ns+"_integrity_truncated", "1 when a list of the last integrity check was cut at its limit (the counts are lower bounds).", nil, nil)
	integrityAge   = prometheus.NewDesc(ns+"_integrity_checked_age_seconds", "Age of the integrity check the integrity gauges come from.", nil, nil)

	movesFinished = prometheus.NewDesc(ns+"_moves_total", "Finished moves by result (done, failed, cancelled) and whether they were free (not charged to a code).", []string{"result", "free"}, nil)
	movesPending  = prometheus.NewDesc(ns+"_moves_pending", "Moves in progress by whether they are free.", []string{"free"}, nil)

	partError = prometheus.NewDesc(ns+"_scrape_part_error", "1 when reading this part of the state for the scrape failed (the log has the error).", []string{"part"}, nil)
)

var stateDescs = []*prometheus.Desc{seatsByKind, seatsPendingAge, queueWaiting, queueOldestAge, capacityTotal, capacityUsed, poolsCount,
	jobsByState, jobsOldest, orphanUsers, zombieMoves, overbooked, drift, integrityTrunc, integrityAge,
	movesFinished, movesPending, forecastFullIn, forecastRate, forecastReleases, forecastPools, partError}

// stateCollector reads the gauges of state.go at scrape time.
type stateCollector struct {
	st    *store.Store
	log   *slog.Logger
	ttl   time.Duration
	now   func() time.Time
	fleet *fleetCache

	mu   sync.Mutex
	slow *slowState
}

// slowState is the cached part of a scrape.
type slowState struct {
	at        time.Time
	integrity integrity.Report
	intErr    error
	moves     map[[2]string]int // (state, free) → count
	movesErr  error
	forecast  []Forecast
	fcErr     error
}

func newStateCollector(st *store.Store, log *slog.Logger) *stateCollector {
	return newStateCollectorConfig(st, log, Config{})
}

func newStateCollectorConfig(st *store.Store, log *slog.Logger, cfg Config) *stateCollector {
	cfg = cfg.withDefaults()
	return &stateCollector{st: st, log: log, ttl: SlowTTL, now: time.Now,
		fleet: &fleetCache{st: st, ttl: cfg.TTL, poolSeries: cfg.PoolSeries}}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range stateDescs {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The slow part (cached for SlowTTL) is computed beside the fleet read.
	slow := make(chan *slowState, 1)
	go func() { slow <- c.slowState(ctx) }()
	f := c.fleet.get(ctx, c.now())
	parts := []struct {
		name string
		err  error
		emit func(*fleet, chan<- prometheus.Metric)
	}{
		{"seats", f.seatsErr, c.seats}, {"queue", f.queueErr, c.queue}, {"capacity", f.poolsErr, c.capacity}, {"jobs", f.jobsErr, c.jobs},
	}
	for _, p := range parts {
		c.report(ch, p.name, p.err)
		if p.err == nil {
			p.emit(f, ch)
		}
	}
	s := <-slow
	c.report(ch, "integrity", s.intErr)
	if s.intErr == nil {
		r := s.integrity
		gauge(ch, orphanUsers, float64(len(r.Orphans)))
		gauge(ch, zombieMoves, float64(len(r.ZombieMoves)))
		gauge(ch, overbooked, float64(len(r.Overbooked)))
		byKind := map[string]int{integrity.DriftPoolUsed: 0, integrity.DriftCodeUsed: 0, integrity.DriftCodeRebind: 0}
		for _, d := range r.Drift {
			byKind[d.Kind]++
		}
		for k, n := range byKind {
			gauge(ch, drift, float64(n), k)
		}
		trunc := 0.0
		if r.Truncated {
			trunc = 1
		}
		gauge(ch, integrityTrunc, trunc)
		gauge(ch, integrityAge, c.now().Sub(s.at).Seconds())
	}
	c.report(ch, "moves", s.movesErr)
	if s.movesErr == nil {
		for _, free := range []string{"true", "false"} {
			for _, st := range []model.MoveState{model.MoveDone, model.MoveFailed, model.MoveCancelled} {
				ch <- prometheus.MustNewConstMetric(movesFinished, prometheus.CounterValue, float64(s.moves[[2]string{string(st), free}]), string(st), free)
			}
			gauge(ch, movesPending, float64(s.moves[[2]string{string(model.MovePending), free}]), free)
		}
	}
	c.report(ch, "forecast", s.fcErr)
	if s.fcErr == nil {
		emitForecast(ch, s.forecast)
	}
}

func (c *stateCollector) report(ch chan<- prometheus.Metric, part string, err error) {
	v := 0.0
	if err != nil {
		c.log.Error("metrics scrape", "part", part, "err", err)
		v = 1
	}
	gauge(ch, partError, v, part)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// slowState returns the cached slow part, computing it when older than ttl.
// Concurrent scrapes wait for one computation.
func (c *stateCollector) slowState(ctx context.Context) *slowState {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.slow != nil && now.Sub(c.slow.at) < c.ttl {
		return c.slow
	}
	s := &slowState{at: now}
	q := c.st.Reader()
	s.integrity, s.intErr = integrity.Check(ctx, q, integrity.Options{})
	s.moves, s.movesErr = c.moveCounts(ctx)
	s.forecast, s.fcErr = ComputeForecast(ctx, c.st, q.Now(), ForecastOptions{})
	c.slow = s
	return s
}

func (c *stateCollector) seats(f *fleet, ch chan<- prometheus.Metric) {
	for _, k := range model.Kinds() {
		for _, s := range model.SeatStates() {
			gauge(ch, seatsByKind, float64(f.seats[[2]string{string(k), string(s)}]), string(k), string(s))
		}
		age := 0.0
		if at, ok := f.pending[string(k)]; ok {
			age = max(0, c.st.Now().Sub(time.UnixMicro(at)).Seconds())
		}
		gauge(ch, seatsPendingAge, age, string(k))
	}
}

func (c *stateCollector) queue(f *fleet, ch chan<- prometheus.Metric) {
	now := c.st.Now()
	for _, k := range model.Kinds() {
		gauge(ch, queueWaiting, float64(f.queue[queueKey{string(k), false}]), string(k), "new")
		gauge(ch, queueWaiting, float64(f.queue[queueKey{string(k), true}]), string(k), "move")
		age := 0.0
		if at, ok := f.oldest[string(k)]; ok {
			age = max(0, now.Sub(time.UnixMicro(at)).Seconds())
		}
		gauge(ch, queueOldestAge, age, string(k))
	}
}

// capKey aggregates pools.
type capKey struct{ kind, status, group string }

func (c *stateCollector) capacity(f *fleet, ch chan<- prometheus.Metric) {
	sums := map[capKey]capAgg{}
	// Every kind × status exists (group ""), so alerts see zeros, not gaps.
	for _, k := range model.Kinds() {
		for _, s := range model.PoolStatuses() {
			sums[capKey{string(k), string(s), ""}] = capAgg{}
		}
	}
	for k, a := range f.caps {
		sums[k] = a
	}
	for k, a := range sums {
		gauge(ch, capacityTotal, float64(a.capacity), k.kind, k.status, k.group)
		gauge(ch, capacityUsed, float64(a.used), k.kind, k.status, k.group)
		gauge(ch, poolsCount, float64(a.n), k.kind, k.status, k.group)
	}
}

// jobKinds are the job kinds of package jobs, reported even when absent.
var jobKinds = []string{"deliver", "deliver_batch", "remove", "drain_queue", "probe", "sweep", "expire", "expiry_warnings"}

// jobStates are the River job states reported (all but completed).
var jobStates = []string{"available", "scheduled", "running", "retryable", "pending", "discarded", "cancelled"}

func (c *stateCollector) jobs(f *fleet, ch chan<- prometheus.Metric) {
	kinds := map[string]bool{}
	for _, k := range jobKinds {
		kinds[k] = true
	}
	for k := range f.jobs {
		kinds[k[0]] = true
	}
	now := time.Now()
	for k := range kinds {
		for _, s := range jobStates {
			gauge(ch, jobsByState, float64(f.jobs[[2]string{k, s}]), k, s)
		}
		age := 0.0
		if t, ok := f.jobsOldest[k]; ok {
			age = max(0, now.Sub(t).Seconds())
		}
		gauge(ch, jobsOldest, age, k)
	}
}

// dbTime reads a timestamp the driver returned as a time or as text.
func dbTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case []byte:
		return parseDBTime(string(t))
	case string:
		return parseDBTime(t)
	}
	return time.Time{}, fmt.Errorf("unexpected %T", v)
}

func parseDBTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read time %q", s)
}

func (c *stateCollector) moveCounts(ctx context.Context) (map[[2]string]int, error) {
	rows, err := c.st.Read.QueryContext(ctx, `SELECT state, paid, COUNT(*) FROM moves GROUP BY state, paid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[2]string]int{}
	for rows.Next() {
		var state string
		var paid, n int
		if err := rows.Scan(&state, &paid, &n); err != nil {
			return nil, err
		}
		out[[2]string{state, boolLabel(paid == 0)}] += n
	}
	return out, rows.Err()
}
