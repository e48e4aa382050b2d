package metrics

import (
	"context"
	"database/sql"
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// The capacity forecast: per pool kind and group label, when will the
// active pools be full at the recent placement rate, given the seats that
// known code expiries will give back? And how many pools of the group's
// average size must be added to last the horizon?

// ForecastOptions tune ComputeForecast; zero values take the defaults.
type ForecastOptions struct {
	// Window is how far back placements are counted for the rate (1h).
	Window time.Duration
	// Horizon is how far ahead code expiries are counted, and the time
	// PoolsNeeded must last (7 days).
	Horizon time.Duration
}

func (o ForecastOptions) withDefaults() ForecastOptions {
	if o.Window <= 0 {
		o.Window = time.Hour
	}
	if o.Horizon <= 0 {
		o.Horizon = 7 * 24 * time.Hour
	}
	return o
}

// Forecast is the capacity outlook of one kind and group.
type Forecast struct {
	Kind  model.Kind `json:"kind"`
	Group string     `json:"group"`
	// Capacity and Free are those of the active pools; ActivePools counts them.
	Capacity    int `json:"capacity"`
	Free        int `json:"free"`
	ActivePools int `json:"active_pools"`
	// RatePerHour is the placements of new members in the window, per hour.
	RatePerHour float64 `json:"rate_per_hour"`
	// ReleasesDue counts the live seats in active pools whose codes end
	// within the horizon.
	ReleasesDue int `json:"releases_due"`
	// FullIn is the time until no seat is left; Never when nothing is being
	// placed (then FullIn is 0).
	FullIn time.Duration `json:"full_in"`
	Never  bool          `json:"never"`
	// PoolsNeeded is how many pools of the group's average capacity must be
	// added for the free room to last the horizon at this rate.
	PoolsNeeded int `json:"pools_needed"`
}

// FullAt is the moment the pools are expected to be full (zero if never).
func (f Forecast) FullAt(now time.Time) time.Time {
	if f.Never {
		return time.Time{}
	}
	return now.Add(f.FullIn)
}

type fcKey struct {
	kind  model.Kind
	group string
}

// ComputeForecast forecasts every kind and group that has pools, as of now.
// The pools, placements and expiries are aggregated in the database (by
// kind and group), so a fleet of 100,000 pools is not loaded.
func ComputeForecast(ctx context.Context, st *store.Store, now time.Time, opts ForecastOptions) ([]Forecast, error) {
	opts = opts.withDefaults()
	group := groupExpr(st.Dialect, "p.labels")
	byKey := map[fcKey]*Forecast{}
	allCap := map[fcKey][2]int{} // capacity, pools of every status (average size)
	rows, err := st.Read.QueryContext(ctx, `SELECT p.kind, `+group+`, CASE WHEN p.status = 'active' THEN 1 ELSE 0 END, COUNT(*),
		CAST(COALESCE(SUM(p.capacity), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN p.used < p.capacity THEN p.capacity - p.used ELSE 0 END), 0) AS BIGINT)
		FROM pools p GROUP BY p.kind, `+group+`, CASE WHEN p.status = 'active' THEN 1 ELSE 0 END`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var kind, grp string
		var active, n, capacity, free int
		if err := rows.Scan(&kind, &grp, &active, &n, &capacity, &free); err != nil {
			rows.Close()
			return nil, err
		}
		k := fcKey{model.Kind(kind), grp}
		f := byKey[k]
		if f == nil {
			f = &Forecast{Kind: k.kind, Group: k.group}
			byKey[k] = f
		}
		c := allCap[k]
		allCap[k] = [2]int{c[0] + capacity, c[1] + n}
		if active == 1 {
			f.Capacity += capacity
			f.Free += free
			f.ActivePools += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Placements of new members in the window, by the kind and group of the
	// pool they went to (placements into pools since deleted are not counted).
	since := now.Add(-opts.Window)
	from, err := firstHistoryID(ctx, st, since)
	if err != nil {
		return nil, err
	}
	rows, err = st.Read.QueryContext(ctx, `SELECT p.kind, `+group+`, COUNT(*) FROM history h JOIN pools p ON p.name = h.pool
		WHERE h.id >= $1 AND h.at >= $2 AND h.action = $3 GROUP BY p.kind, `+group,
		from, since.UnixMicro(), model.ActPlaced)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var kind, grp string
		var n int
		if err := rows.Scan(&kind, &grp, &n); err != nil {
			rows.Close()
			return nil, err
		}
		if f := byKey[fcKey{model.Kind(kind), grp}]; f != nil {
			f.RatePerHour += float64(n) / opts.Window.Hours()
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Seats that known code expiries will free in the active pools.
	rows, err = st.Read.QueryContext(ctx, `SELECT p.kind, `+group+`, c.ends_at FROM seats s JOIN codes c ON c.id = s.code_id JOIN pools p ON p.id = s.pool_id
		WHERE s.state IN ('reserved', 'provisioning', 'active') AND c.ends_at > $1 AND c.ends_at <= $2 AND p.status = 'active'`,
		now.UnixMicro(), now.Add(opts.Horizon).UnixMicro())
	if err != nil {
		return nil, err
	}
	releases := map[fcKey][]time.Duration{}
	for rows.Next() {
		var kind, grp string
		var endsAt int64
		if err := rows.Scan(&kind, &grp, &endsAt); err != nil {
			rows.Close()
			return nil, err
		}
		k := fcKey{model.Kind(kind), grp}
		releases[k] = append(releases[k], time.UnixMicro(endsAt).Sub(now))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	out := make([]Forecast, 0, len(byKey))
	for k, f := range byKey {
		rel := releases[k]
		sort.Slice(rel, func(i, j int) bool { return rel[i] < rel[j] })
		f.ReleasesDue = len(rel)
		f.FullIn, f.Never = fullIn(f.Free, f.RatePerHour, rel)
		c := allCap[k]
		f.PoolsNeeded = poolsNeeded(f.Free, f.RatePerHour, len(rel), opts.Horizon, float64(c[0])/float64(c[1]))
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Group < out[j].Group
	})
	return out, nil
}

// fullIn is the first time T at which placements at ratePerHour have used
// the free seats plus the seats released (at the sorted times rel) by T.
func fullIn(free int, ratePerHour float64, rel []time.Duration) (time.Duration, bool) {
	if free <= 0 {
		return 0, false
	}
	if ratePerHour <= 0 {
		return 0, true
	}
	perSecond := ratePerHour / 3600
	k := 0
	for {
		t := float64(free+k) / perSecond // full at t if no further release comes first
		if k < len(rel) && rel[k].Seconds() < t {
			k++ // the next release comes first and adds a seat
			continue
		}
		return time.Duration(t * float64(time.Second)), false
	}
}

// poolsNeeded is how many pools of avgCapacity must be added so that the
// free seats and those released (due) last the horizon at ratePerHour.
func poolsNeeded(free int, ratePerHour float64, due int, horizon time.Duration, avgCapacity float64) int {
	short := ratePerHour*horizon.Hours() - float64(free+due)
	if short <= 0 || avgCapacity <= 0 {
		return 0
	}
	return int(math.Ceil(short / avgCapacity))
}

// firstHistoryID finds, by binary search on the primary key, the lowest
// history id written at or after since (ids grow with time), so that the
// rate query reads only the window, not the whole history.
func firstHistoryID(ctx context.Context, st *store.Store, since time.Time) (int64, error) {
	var lo, hi sql.NullInt64
	if err := st.Read.QueryRowContext(ctx, `SELECT MIN(id), MAX(id) FROM history`).Scan(&lo, &hi); err != nil {
		return 0, err
	}
	if !lo.Valid {
		return 0, nil
	}
	at := func(id int64) (int64, int64, error) { // the first row at or after id
		var got, t int64
		err := st.Read.QueryRowContext(ctx, `SELECT id, at FROM history WHERE id >= $1 ORDER BY id LIMIT 1`, id).Scan(&got, &t)
		return got, t, err
	}
	want := since.UnixMicro()
	l, h := lo.Int64, hi.Int64+1 // answer in [l, h]; h means none
	for l < h {
		mid := l + (h-l)/2
		id, t, err := at(mid)
		if err != nil {
			return 0, err
		}
		if t >= want {
			h = mid
		} else {
			l = id + 1
		}
	}
	return l, nil
}

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

func emitForecast(ch chan<- prometheus.Metric, fs []Forecast) {
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
