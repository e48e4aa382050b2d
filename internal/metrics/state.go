package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/fleet"
	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// The gauges below are read from the database at scrape time, like those of
// metrics.go: every replica reports the same numbers, so aggregate them with
// max (not sum) across instances. The pools, seats, queue and jobs are read
// in one aggregated read shared by the scrapes of Config.TTL (a fleet.Reader,
// package fleet); the expensive ones (the integrity check, move totals, the
// capacity forecast) are cached for SlowTTL.

// SlowTTL is how long the result of the integrity check, the move totals
// and the capacity forecast are reused between scrapes.
const SlowTTL = fleet.DefaultSlowTTL

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

// stateCollector reports the gauges of state.go from a fleet.Summary.
type stateCollector struct {
	q     *store.Queries // the store's read pool (its clock dates the ages)
	log   *slog.Logger
	now   func() time.Time
	fleet *fleet.Reader
}

func newStateCollector(st *store.Store, log *slog.Logger) *stateCollector {
	return newStateCollectorConfig(st, log, Config{})
}

func newStateCollectorConfig(st *store.Store, log *slog.Logger, cfg Config) *stateCollector {
	cfg = cfg.withDefaults()
	c := &stateCollector{q: st.Reader(), log: log, now: time.Now}
	// The reader's clock is c.now, which tests move.
	c.fleet = fleet.New(c.q, fleet.Options{TTL: cfg.TTL, SlowTTL: SlowTTL, PoolSeries: cfg.PoolSeries, Now: func() time.Time { return c.now() }})
	return c
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range stateDescs {
		ch <- d
	}
}

// summary reads the fleet for one scrape (cached by the reader).
func (c *stateCollector) summary() *fleet.Summary {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.fleet.Summary(ctx)
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.summary()
	parts := []struct {
		name string
		err  error
		emit func(*fleet.Summary, chan<- prometheus.Metric)
	}{
		{"seats", s.SeatsErr, c.seats}, {"queue", s.QueueErr, c.queue}, {"capacity", s.PoolsErr, c.capacity}, {"jobs", s.JobsErr, c.jobs},
		{"integrity", s.IntegrityErr, c.integrity}, {"moves", s.MovesErr, c.moves}, {"forecast", s.ForecastErr, c.forecast},
	}
	for _, p := range parts {
		c.report(ch, p.name, p.err)
		if p.err == nil {
			p.emit(s, ch)
		}
	}
}

func (c *stateCollector) integrity(s *fleet.Summary, ch chan<- prometheus.Metric) {
	r := s.Integrity
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
	gauge(ch, integrityAge, c.now().Sub(s.CheckedAt).Seconds())
}

func (c *stateCollector) moves(s *fleet.Summary, ch chan<- prometheus.Metric) {
	n := map[[2]string]int{} // (state, free) → moves
	for _, g := range s.Moves {
		n[[2]string{string(g.State), boolLabel(!g.Paid)}] += g.Moves
	}
	for _, free := range []string{"true", "false"} {
		for _, st := range []model.MoveState{model.MoveDone, model.MoveFailed, model.MoveCancelled} {
			ch <- prometheus.MustNewConstMetric(movesFinished, prometheus.CounterValue, float64(n[[2]string{string(st), free}]), string(st), free)
		}
		gauge(ch, movesPending, float64(n[[2]string{string(model.MovePending), free}]), free)
	}
}

func (c *stateCollector) forecast(s *fleet.Summary, ch chan<- prometheus.Metric) {
	emitForecast(ch, s.Forecast)
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

func (c *stateCollector) seats(s *fleet.Summary, ch chan<- prometheus.Metric) {
	n := map[[2]string]int{}              // (kind, state) → seats
	pending := map[model.Kind]time.Time{} // kind → its oldest provisioning seat
	for _, g := range s.Seats {
		n[[2]string{string(g.Kind), string(g.State)}] = g.Seats
		if g.State == model.SeatProvisioning {
			pending[g.Kind] = g.Oldest
		}
	}
	now := c.q.Now()
	for _, k := range model.Kinds() {
		for _, st := range model.SeatStates() {
			gauge(ch, seatsByKind, float64(n[[2]string{string(k), string(st)}]), string(k), string(st))
		}
		age := 0.0
		if at, ok := pending[k]; ok {
			age = max(0, now.Sub(at).Seconds())
		}
		gauge(ch, seatsPendingAge, age, string(k))
	}
}

func (c *stateCollector) queue(s *fleet.Summary, ch chan<- prometheus.Metric) {
	n := map[model.Kind][2]int{} // kind → entries new, move
	oldest := map[model.Kind]time.Time{}
	for _, g := range s.Queue {
		v := n[g.Kind]
		if g.Move {
			v[1] += g.Entries
		} else {
			v[0] += g.Entries
		}
		n[g.Kind] = v
		if o, ok := oldest[g.Kind]; !ok || g.Oldest.Before(o) {
			oldest[g.Kind] = g.Oldest
		}
	}
	now := c.q.Now()
	for _, k := range model.Kinds() {
		gauge(ch, queueWaiting, float64(n[k][0]), string(k), "new")
		gauge(ch, queueWaiting, float64(n[k][1]), string(k), "move")
		age := 0.0
		if at, ok := oldest[k]; ok {
			age = max(0, now.Sub(at).Seconds())
		}
		gauge(ch, queueOldestAge, age, string(k))
	}
}

// capKey aggregates pools.
type capKey struct{ kind, status, group string }

func (c *stateCollector) capacity(s *fleet.Summary, ch chan<- prometheus.Metric) {
	sums := map[capKey]store.PoolGroup{}
	// Every kind × status exists (group ""), so alerts see zeros, not gaps.
	for _, k := range model.Kinds() {
		for _, st := range model.PoolStatuses() {
			sums[capKey{string(k), string(st), ""}] = store.PoolGroup{}
		}
	}
	for _, g := range s.Pools {
		sums[capKey{string(g.Kind), string(g.Status), g.Group}] = g
	}
	for k, a := range sums {
		gauge(ch, capacityTotal, float64(a.Capacity), k.kind, k.status, k.group)
		gauge(ch, capacityUsed, float64(a.Used), k.kind, k.status, k.group)
		gauge(ch, poolsCount, float64(a.Pools), k.kind, k.status, k.group)
	}
}

// jobKinds are the job kinds of package jobs, reported even when absent.
var jobKinds = []string{"deliver", "deliver_batch", "remove", "drain_queue", "probe", "sweep", "expire", "expiry_warnings"}

// jobStates are the River job states reported (all but completed).
var jobStates = []string{"available", "scheduled", "running", "retryable", "pending", "discarded", "cancelled"}

func (c *stateCollector) jobs(s *fleet.Summary, ch chan<- prometheus.Metric) {
	kinds := map[string]bool{}
	for _, k := range jobKinds {
		kinds[k] = true
	}
	n := map[[2]string]int{}         // (kind, state) → jobs
	oldest := map[string]time.Time{} // kind → its oldest available job
	for _, g := range s.Jobs {
		kinds[g.Kind] = true
		n[[2]string{g.Kind, g.State}] = g.Jobs
		if g.State == "available" {
			oldest[g.Kind] = g.Oldest
		}
	}
	now := time.Now()
	for k := range kinds {
		for _, st := range jobStates {
			gauge(ch, jobsByState, float64(n[[2]string{k, st}]), k, st)
		}
		age := 0.0
		if t, ok := oldest[k]; ok {
			age = max(0, now.Sub(t).Seconds())
		}
		gauge(ch, jobsOldest, age, k)
	}
}
