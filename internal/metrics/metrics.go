// Package metrics exposes berth's state to Prometheus. Gauges of pools,
// seats and the queue are read from the database at scrape time (a custom
// collector), so every replica reports the same truth and nothing drifts.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

const ns = "berth"

var (
	poolCapacity = prometheus.NewDesc(ns+"_pool_capacity", "Capacity of a pool.", []string{"pool", "kind", "group"}, nil)
	poolUsed     = prometheus.NewDesc(ns+"_pool_used", "Seats counted against a pool's capacity.", []string{"pool", "kind", "group"}, nil)
	poolStatus   = prometheus.NewDesc(ns+"_pool_status", "1 for the pool's current status.", []string{"pool", "kind", "status"}, nil)
	seats        = prometheus.NewDesc(ns+"_seats", "Seats by state.", []string{"state"}, nil)
	queueDepth   = prometheus.NewDesc(ns+"_queue_depth", "Members waiting for room.", []string{"kind"}, nil)
	scrapeErrors = prometheus.NewDesc(ns+"_scrape_error", "1 when reading the database for this scrape failed.", nil, nil)
)

type collector struct {
	st  *store.Store
	log *slog.Logger
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolCapacity, poolUsed, poolStatus, seats, queueDepth, scrapeErrors} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := 0.0
	if err := c.collect(ctx, ch); err != nil {
		c.log.Error("metrics scrape", "err", err)
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrors, prometheus.GaugeValue, failed)
}

func (c collector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	q := c.st.Reader()
	pools, err := q.PoolList(ctx, "")
	if err != nil {
		return err
	}
	for _, p := range pools {
		ch <- prometheus.MustNewConstMetric(poolCapacity, prometheus.GaugeValue, float64(p.Capacity), p.Name, string(p.Kind), p.Labels["group"])
		ch <- prometheus.MustNewConstMetric(poolUsed, prometheus.GaugeValue, float64(p.Used), p.Name, string(p.Kind), p.Labels["group"])
		for _, s := range model.PoolStatuses() {
			v := 0.0
			if p.Status == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(poolStatus, prometheus.GaugeValue, v, p.Name, string(p.Kind), string(s))
		}
	}
	counts, err := q.SeatCountByState(ctx)
	if err != nil {
		return err
	}
	for _, s := range model.SeatStates() {
		ch <- prometheus.MustNewConstMetric(seats, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	for _, k := range model.Kinds() {
		n, err := q.QueueLen(ctx, k)
		if err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(n), string(k))
	}
	return nil
}

// Handler serves /metrics: berth's gauges read from the database (this
// file and state.go), the process's event counters (Events, events.go) and
// the Go runtime's.
func Handler(st *store.Store, log *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{st: st, log: log}, newStateCollector(st, log),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(prometheus.Gatherers{reg, Events}, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)})
}
