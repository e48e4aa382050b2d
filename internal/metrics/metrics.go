// Package metrics exposes berth's state to Prometheus. It only
// instruments: the gauges of pools, seats, the queue, jobs, integrity and
// the forecast come from a fleet.Summary read at scrape time (custom
// collectors over a fleet.Reader; the SQL is in store/fleet.go), so every
// replica reports the same truth and nothing drifts; the event counters
// and histograms are process-local (events.go).
package metrics

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

const ns = "berth"

// perPoolNote is the help text's note on the per-pool series.
const perPoolNote = " Per-pool series (berth_pool_capacity, berth_pool_used, berth_pool_status, berth_pool_health_score) are exported only while the fleet has " +
	"at most BERTH_METRICS_POOL_SERIES pools (default 1000; 0: never; see berth_pool_series_exported); berth_capacity, " +
	"berth_capacity_used and berth_pools (by kind, status and group) are always there."

var (
	poolCapacity = prometheus.NewDesc(ns+"_pool_capacity", "Capacity of a pool."+perPoolNote, []string{"pool", "kind", "group"}, nil)
	poolUsed     = prometheus.NewDesc(ns+"_pool_used", "Seats counted against a pool's capacity."+perPoolNote, []string{"pool", "kind", "group"}, nil)
	poolStatus   = prometheus.NewDesc(ns+"_pool_status", "1 for the pool's current status."+perPoolNote, []string{"pool", "kind", "status"}, nil)
	poolHealth   = prometheus.NewDesc(ns+"_pool_health_score", "The pool's health score in [0, 1] from its recent provider outcomes (failures, timeouts, "+
		"latency; decayed), as this process saw them: placement puts pools below the threshold (BERTH_HEALTH_THRESHOLD) after the healthy ones."+perPoolNote,
		[]string{"pool", "kind"}, nil)
	poolSeriesOn = prometheus.NewDesc(ns+"_pool_series_exported", "1 when this scrape has the per-pool series (berth_pool_capacity, berth_pool_used, "+
		"berth_pool_status); 0 when the fleet has more pools than BERTH_METRICS_POOL_SERIES (default 1000) or the setting is 0.", nil, nil)
	stateAge = prometheus.NewDesc(ns+"_state_age_seconds", "Age of the read of the database the pool, seat, queue and job gauges of this scrape come from "+
		"(one read serves the scrapes of 10 s).", nil, nil)
	seats        = prometheus.NewDesc(ns+"_seats", "Seats by state.", []string{"state"}, nil)
	queueDepth   = prometheus.NewDesc(ns+"_queue_depth", "Members waiting for room.", []string{"kind"}, nil)
	scrapeErrors = prometheus.NewDesc(ns+"_scrape_error", "1 when reading the database for this scrape failed.", nil, nil)
)

// collector reports the per-pool series and the totals by seat state and
// queue kind, from the state collector's cached read of the fleet.
type collector struct {
	s      *stateCollector
	health func() map[int64]float64 // Config.Health
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolCapacity, poolUsed, poolStatus, poolHealth, poolSeriesOn, stateAge, seats, queueDepth, scrapeErrors} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	now := c.s.now()
	f := c.s.summary()
	failed := 0.0
	for _, err := range []error{f.PoolsErr, f.SeatsErr, f.QueueErr} {
		if err != nil {
			failed = 1
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrors, prometheus.GaugeValue, failed)
	gauge(ch, stateAge, max(0, now.Sub(f.At).Seconds()))
	on := 0.0
	if f.PoolsErr == nil && f.PerPool != nil {
		on = 1
	}
	gauge(ch, poolSeriesOn, on)
	var scores map[int64]float64
	if c.health != nil && len(f.PerPool) > 0 {
		scores = c.health()
	}
	for _, p := range f.PerPool {
		if c.health != nil {
			v, ok := scores[p.ID]
			if !ok {
				v = 1
			}
			gauge(ch, poolHealth, v, p.Name, string(p.Kind))
		}
		gauge(ch, poolCapacity, float64(p.Capacity), p.Name, string(p.Kind), p.Group)
		gauge(ch, poolUsed, float64(p.Used), p.Name, string(p.Kind), p.Group)
		for _, s := range model.PoolStatuses() {
			v := 0.0
			if p.Status == s {
				v = 1
			}
			gauge(ch, poolStatus, v, p.Name, string(p.Kind), string(s))
		}
	}
	if f.SeatsErr == nil {
		by := f.SeatsByState()
		for _, s := range model.SeatStates() {
			gauge(ch, seats, float64(by[s]), string(s))
		}
	}
	if f.QueueErr == nil {
		for _, k := range model.Kinds() {
			gauge(ch, queueDepth, float64(f.Queued(k)), string(k))
		}
	}
}

// Handler serves /metrics with the default Config; package api uses
// NewHandler with the configured one and checks Config.Permit first.
func Handler(st *store.Store, log *slog.Logger) http.Handler { return NewHandler(st, log, Config{}) }

// NewHandler serves /metrics: berth's gauges read from the database (this
// file and state.go, through a fleet.Reader), the build (berth_build_info,
// build.go), the process's event counters (Events, events.go) and the Go
// runtime's. It does not check who asks.
func NewHandler(st *store.Store, log *slog.Logger, cfg Config) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	sc := newStateCollectorConfig(st, log, cfg)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{sc, cfg.Health}, sc, buildInfo(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(prometheus.Gatherers{reg, Events}, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)})
}
