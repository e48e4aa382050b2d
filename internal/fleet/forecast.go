package fleet

import (
	"context"
	"math"
	"sort"
	"time"

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
// kind and group, store/fleet.go), so a fleet of 100,000 pools is not loaded.
func ComputeForecast(ctx context.Context, q *store.Queries, now time.Time, opts ForecastOptions) ([]Forecast, error) {
	opts = opts.withDefaults()
	groups, err := q.FleetPoolGroups(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[fcKey]*Forecast{}
	allCap := map[fcKey][2]int{} // capacity, pools of every status (average size)
	for _, g := range groups {
		k := fcKey{g.Kind, g.Group}
		f := byKey[k]
		if f == nil {
			f = &Forecast{Kind: k.kind, Group: k.group}
			byKey[k] = f
		}
		c := allCap[k]
		allCap[k] = [2]int{c[0] + g.Capacity, c[1] + g.Pools}
		if g.Status == model.StatusActive {
			f.Capacity += g.Capacity
			f.Free += g.Free
			f.ActivePools += g.Pools
		}
	}

	placed, err := q.PlacementsSince(ctx, now.Add(-opts.Window))
	if err != nil {
		return nil, err
	}
	for _, c := range placed {
		if f := byKey[fcKey{c.Kind, c.Group}]; f != nil {
			f.RatePerHour += float64(c.N) / opts.Window.Hours()
		}
	}

	due, err := q.ReleasesDue(ctx, now, now.Add(opts.Horizon))
	if err != nil {
		return nil, err
	}
	releases := map[fcKey][]time.Duration{}
	for _, r := range due {
		k := fcKey{r.Kind, r.Group}
		releases[k] = append(releases[k], r.EndsAt.Sub(now))
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
