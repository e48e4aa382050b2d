package fleet

import (
	"context"
	"sort"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// The fleet over time: the samples the sample job records (package jobs,
// store.FleetSampleRecord) read back as series for the dashboard's charts
// and GET /api/v1/fleet/samples.

// MaxPoints is about the most points a series of History has: the range is
// folded into buckets of range/MaxPoints (whole minutes), so a day of
// 5-minute samples is drawn point by point and a month in 2.5-hour peaks.
const MaxPoints = 288

// Step is the bucket History folds a range of span into.
func Step(span time.Duration) time.Duration {
	step := (span + MaxPoints - 1) / MaxPoints
	if r := step % time.Minute; r != 0 || step == 0 {
		step += time.Minute - r
	}
	return step
}

// Point is one sample (or one bucket's peak) of a series.
type Point struct {
	At       time.Time `json:"at"`
	Pools    int       `json:"pools"`
	Capacity int       `json:"capacity"`
	Used     int       `json:"used"`
	// Queued is the kind's queue depth, the same in every group's series.
	Queued int `json:"queued"`
}

// Utilization is Used over Capacity, 0 when there is no capacity.
func (p Point) Utilization() float64 {
	if p.Capacity <= 0 {
		return 0
	}
	return float64(p.Used) / float64(p.Capacity)
}

// Series is the points of one kind and group label, oldest first.
type Series struct {
	Kind   model.Kind `json:"kind"`
	Group  string     `json:"group"`
	Points []Point    `json:"points"`
}

// QueueSeries is the queue depth of one kind, oldest first.
type QueueSeries struct {
	Kind   model.Kind `json:"kind"`
	Points []Point    `json:"points"`
}

// History is the fleet's series from since to until, of kind (every kind
// when empty), folded into buckets of Step(until - since).
type History struct {
	Since time.Time     `json:"since"`
	Until time.Time     `json:"until"`
	Step  time.Duration `json:"-"`
	// Series are by kind, then group.
	Series []Series `json:"series"`
}

// ReadHistory reads the samples of [since, until) from q (the store's read
// pool).
func ReadHistory(ctx context.Context, q *store.Queries, since, until time.Time, kind model.Kind) (History, error) {
	// The span in whole minutes: a caller that adds a moment to until (to
	// include a sample taken at until) gets the step of the round range.
	h := History{Since: since, Until: until, Step: Step(until.Sub(since).Truncate(time.Minute)), Series: []Series{}}
	rows, err := q.FleetSamples(ctx, since, until, kind, h.Step)
	if err != nil {
		return h, err
	}
	for _, r := range rows { // by kind, group, time
		n := len(h.Series)
		if n == 0 || h.Series[n-1].Kind != r.Kind || h.Series[n-1].Group != r.Group {
			h.Series = append(h.Series, Series{Kind: r.Kind, Group: r.Group})
			n++
		}
		h.Series[n-1].Points = append(h.Series[n-1].Points, Point{At: r.At, Pools: r.Pools, Capacity: r.Capacity, Used: r.Used, Queued: r.Queued})
	}
	return h, nil
}

// Queues is the queue depth of each kind with samples: every group's
// series carries its kind's depth, so a kind's points are merged from all
// its groups (by time, the largest when buckets disagree).
func (h History) Queues() []QueueSeries {
	byKind := map[model.Kind]map[time.Time]int{}
	for _, s := range h.Series {
		m := byKind[s.Kind]
		if m == nil {
			m = map[time.Time]int{}
			byKind[s.Kind] = m
		}
		for _, p := range s.Points {
			m[p.At] = max(m[p.At], p.Queued)
		}
	}
	var out []QueueSeries
	for _, k := range model.Kinds() {
		m, ok := byKind[k]
		if !ok {
			continue
		}
		qs := QueueSeries{Kind: k}
		for at, n := range m {
			qs.Points = append(qs.Points, Point{At: at, Queued: n})
		}
		sort.Slice(qs.Points, func(i, j int) bool { return qs.Points[i].At.Before(qs.Points[j].At) })
		out = append(out, qs)
	}
	return out
}

// Empty tells whether the range has no sample at all.
func (h History) Empty() bool { return len(h.Series) == 0 }
