package metrics

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/fleet"
)

// The gauges of the capacity forecast (fleet.ComputeForecast).

var (
	forecastFullIn = prometheus.NewDesc(ns+"_capacity_full_in_seconds",
		"Capacity forecast: seconds until the active pools of the kind and group are full at the placement rate of the last hour, counting the seats that known code expiries give back; 0 when full, +Inf when nothing is being placed.",
		[]string{"kind", "group"}, nil)
	forecastRate = prometheus.NewDesc(ns+"_capacity_placement_rate_per_hour",
		"New members placed in the last hour, by kind and group.", []string{"kind", "group"}, nil)
	forecastReleases = prometheus.NewDesc(ns+"_capacity_releases_due",
		"Live seats in active pools whose codes end within the next 7 days.", []string{"kind", "group"}, nil)
	forecastPools = prometheus.NewDesc(ns+"_capacity_pools_needed",
		"Pools of the group's average capacity to add for the room to last the next 7 days at the current rate.", []string{"kind", "group"}, nil)
)

func emitForecast(ch chan<- prometheus.Metric, fs []fleet.Forecast) {
	for _, f := range fs {
		full := f.FullIn.Seconds()
		if f.Never {
			full = math.Inf(1)
		}
		labels := []string{string(f.Kind), f.Group}
		gauge(ch, forecastFullIn, full, labels...)
		gauge(ch, forecastRate, f.RatePerHour, labels...)
		gauge(ch, forecastReleases, float64(f.ReleasesDue), labels...)
		gauge(ch, forecastPools, float64(f.PoolsNeeded), labels...)
	}
}
