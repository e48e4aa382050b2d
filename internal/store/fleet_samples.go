package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// The fleet's time series (table fleet_samples, migration 008): what the
// dashboard's charts and GET /api/v1/fleet/samples draw. Utilization over
// time could be recomputed from the history table, but at 100,000 members
// that is a scan per page view; instead the sample job (package jobs)
// records a few rows every BERTH_FLEET_SAMPLE_EVERY, and the reads below
// touch only the rows of the range asked for (the primary key starts with
// at).

// FleetSample is the pools of one kind and group label at one time.
type FleetSample struct {
	At    time.Time  `json:"at"`
	Kind  model.Kind `json:"kind"`
	Group string     `json:"group"`
	// Pools counts the pools (every status); Capacity and Used are their
	// sums, like the dashboard's cards.
	Pools    int `json:"pools"`
	Capacity int `json:"capacity"`
	Used     int `json:"used"`
	// Queued is the kind's queue depth (new members and moves). The queue
	// has no group, so every row of one kind and time carries the same
	// number.
	Queued int `json:"queued"`
}

// sampleRowsPerInsert bounds the rows of one INSERT (7 parameters a row).
const sampleRowsPerInsert = 100

// FleetSampleRecord records the fleet as it is at at: one row per kind and
// group label with pools, and one (group "") for a kind with none but a
// queue. It reads the same aggregates as the dashboard (FleetPoolGroups,
// FleetQueueGroups: a few hundred rows at most) and writes in one
// transaction; a second record at the same at is ignored.
func (s *Store) FleetSampleRecord(ctx context.Context, at time.Time) ([]FleetSample, error) {
	groups, err := s.FleetPoolGroups(ctx)
	if err != nil {
		return nil, err
	}
	queues, err := s.FleetQueueGroups(ctx)
	if err != nil {
		return nil, err
	}
	queued := map[model.Kind]int{}
	for _, g := range queues {
		queued[g.Kind] += g.Entries
	}
	type key struct {
		kind  model.Kind
		group string
	}
	byKey := map[key]*FleetSample{}
	for _, g := range groups {
		k := key{g.Kind, g.Group}
		fs := byKey[k]
		if fs == nil {
			fs = &FleetSample{At: at, Kind: g.Kind, Group: g.Group, Queued: queued[g.Kind]}
			byKey[k] = fs
		}
		fs.Pools += g.Pools
		fs.Capacity += g.Capacity
		fs.Used += g.Used
	}
	for kind, n := range queued {
		if n == 0 {
			continue
		}
		found := false
		for k := range byKey {
			found = found || k.kind == kind
		}
		if !found {
			byKey[key{kind, ""}] = &FleetSample{At: at, Kind: kind, Queued: n}
		}
	}
	out := make([]FleetSample, 0, len(byKey))
	for _, fs := range byKey {
		out = append(out, *fs)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Group < out[j].Group
	})
	if len(out) == 0 {
		return out, nil
	}
	err = s.InTx(ctx, func(tx *Tx) error {
		for start := 0; start < len(out); start += sampleRowsPerInsert {
			var w where
			var rows []string
			for _, fs := range out[start:min(start+sampleRowsPerInsert, len(out))] {
				rows = append(rows, "("+strings.Join([]string{w.arg(micros(fs.At)), w.arg(string(fs.Kind)), w.arg(fs.Group),
					w.arg(fs.Pools), w.arg(fs.Capacity), w.arg(fs.Used), w.arg(fs.Queued)}, ", ")+")")
			}
			if _, err := tx.db.ExecContext(ctx, `INSERT INTO fleet_samples (at, kind, grp, pools, capacity, used, queued) VALUES `+
				strings.Join(rows, ", ")+` ON CONFLICT DO NOTHING`, w.args...); err != nil {
				return fmt.Errorf("record fleet sample: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FleetSamplesInsert writes samples as they are (tests, and seeding a
// demo's past).
func (q *Queries) FleetSamplesInsert(ctx context.Context, samples []FleetSample) error {
	for _, fs := range samples {
		if _, err := q.db.ExecContext(ctx, `INSERT INTO fleet_samples (at, kind, grp, pools, capacity, used, queued) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT DO NOTHING`, micros(fs.At), string(fs.Kind), fs.Group, fs.Pools, fs.Capacity, fs.Used, fs.Queued); err != nil {
			return fmt.Errorf("fleet sample: %w", err)
		}
	}
	return nil
}

// FleetSamples reads the samples taken at or after since and before until,
// of kind (every kind when empty), by kind, group and time. With step > 0
// the samples of each kind and group are folded into buckets of step: each bucket answers the peak of its samples (largest capacity,
// used and queued, at its last sample's time), so that a short spike is not
// averaged away on a 30-day chart. The fold is made in SQL: a month of
// 5-minute samples comes back as a few hundred rows per group.
func (q *Queries) FleetSamples(ctx context.Context, since, until time.Time, kind model.Kind, step time.Duration) ([]FleetSample, error) {
	var w where
	w.conds = append(w.conds, "at >= "+w.arg(micros(since)), "at < "+w.arg(micros(until)))
	if kind != "" {
		w.conds = append(w.conds, "kind = "+w.arg(string(kind)))
	}
	var query string
	if step > 0 {
		// Buckets are aligned on the epoch, not on since, so that a chart
		// reloaded a minute later folds the same samples together.
		bucket := "at / " + w.arg(step.Microseconds())
		query = `SELECT MAX(at), kind, grp, MAX(pools), MAX(capacity), MAX(used), MAX(queued) FROM fleet_samples` + w.String() +
			` GROUP BY kind, grp, ` + bucket + ` ORDER BY kind, grp, 1`
	} else {
		query = `SELECT at, kind, grp, pools, capacity, used, queued FROM fleet_samples` + w.String() + ` ORDER BY kind, grp, at`
	}
	rows, err := q.db.QueryContext(ctx, query, w.args...)
	return scanAll(rows, err, func(r rowScanner) (FleetSample, error) {
		var fs FleetSample
		var at int64
		err := r.Scan(&at, &fs.Kind, &fs.Group, &fs.Pools, &fs.Capacity, &fs.Used, &fs.Queued)
		fs.At = fromMicros(at)
		return fs, err
	})
}

// FleetSamplesDeleteBefore deletes the samples taken before t (the sweep's
// retention) and says how many went.
func (q *Queries) FleetSamplesDeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM fleet_samples WHERE at < $1`, micros(t))
	if err != nil {
		return 0, fmt.Errorf("delete old fleet samples: %w", err)
	}
	return res.RowsAffected()
}
