package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// The fleet's aggregates: the reads package fleet builds its Summary from
// (/metrics, the console's dashboard, Telegram). Every number is
// aggregated in the database (GROUP BY), so a fleet of 100,000 pools is
// read in a few hundred rows; only FleetPools reads pools one by one, up
// to a limit.

// groupExpr is the SQL of a pool's group label (from its labels column, a
// JSON object), empty when it has none.
func (q *Queries) groupExpr(labels string) string {
	if q.dialect == Postgres {
		return `COALESCE(` + labels + `::jsonb ->> 'group', '')`
	}
	return `COALESCE(json_extract(` + labels + `, '$.group'), '')`
}

// PoolGroup is the pools of one kind, status and group label.
type PoolGroup struct {
	Kind   model.Kind
	Status model.PoolStatus
	Group  string
	// Pools counts them; Capacity and Used are their sums; Free is the sum
	// of their free seats, an overbooked pool counting none (model.Pool.Free).
	Pools, Capacity, Used, Free int
}

// FleetPoolGroups aggregates the pools by kind, status and group label.
func (q *Queries) FleetPoolGroups(ctx context.Context) ([]PoolGroup, error) {
	group := q.groupExpr("labels")
	rows, err := q.db.QueryContext(ctx, `SELECT kind, status, `+group+`, COUNT(*), CAST(COALESCE(SUM(capacity), 0) AS BIGINT),
		CAST(COALESCE(SUM(used), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN used < capacity THEN capacity - used ELSE 0 END), 0) AS BIGINT)
		FROM pools GROUP BY kind, status, `+group)
	return scanAll(rows, err, func(r rowScanner) (PoolGroup, error) {
		var g PoolGroup
		err := r.Scan(&g.Kind, &g.Status, &g.Group, &g.Pools, &g.Capacity, &g.Used, &g.Free)
		return g, err
	})
}

// PoolBrief is one pool as a fleet read shows it.
type PoolBrief struct {
	ID            int64
	Name          string
	Kind          model.Kind
	Status        model.PoolStatus
	StatusMessage string
	Group         string
	Capacity      int
	Used          int
}

// Free is the seats left (0 when the pool is full or overbooked).
func (p PoolBrief) Free() int { return max(0, p.Capacity-p.Used) }

// FleetPools returns at most limit pools by priority, then name; with
// statuses, only pools in one of them.
func (q *Queries) FleetPools(ctx context.Context, limit int, statuses ...model.PoolStatus) ([]PoolBrief, error) {
	var w where
	if len(statuses) > 0 {
		ph := make([]string, len(statuses))
		for i, s := range statuses {
			ph[i] = w.arg(string(s))
		}
		w.conds = append(w.conds, "status IN ("+strings.Join(ph, ", ")+")")
	}
	lim := w.arg(limit)
	rows, err := q.db.QueryContext(ctx, `SELECT id, name, kind, status, status_message, `+q.groupExpr("labels")+`, capacity, used
		FROM pools`+w.String()+` ORDER BY priority, name LIMIT `+lim, w.args...)
	return scanAll(rows, err, func(r rowScanner) (PoolBrief, error) {
		var p PoolBrief
		err := r.Scan(&p.ID, &p.Name, &p.Kind, &p.Status, &p.StatusMessage, &p.Group, &p.Capacity, &p.Used)
		return p, err
	})
}

// SeatGroup is the seats of one pool kind and seat state.
type SeatGroup struct {
	Kind  model.Kind
	State model.SeatState
	Seats int
	// Oldest is when the oldest of them was made.
	Oldest time.Time
}

// FleetSeatGroups aggregates the seats by their pool's kind and their state.
func (q *Queries) FleetSeatGroups(ctx context.Context) ([]SeatGroup, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT p.kind, s.state, COUNT(*), MIN(s.created_at) FROM seats s JOIN pools p ON p.id = s.pool_id GROUP BY p.kind, s.state`)
	return scanAll(rows, err, func(r rowScanner) (SeatGroup, error) {
		var g SeatGroup
		var oldest int64
		err := r.Scan(&g.Kind, &g.State, &g.Seats, &oldest)
		g.Oldest = fromMicros(oldest)
		return g, err
	})
}

// QueueGroup is the queue entries of one kind and type.
type QueueGroup struct {
	Kind model.Kind
	// Move: members waiting to move (keeping their seat); else new members.
	Move    bool
	Entries int
	// Oldest is when the oldest of them was enqueued.
	Oldest time.Time
}

// FleetQueueGroups aggregates the queue by kind and type.
func (q *Queries) FleetQueueGroups(ctx context.Context) ([]QueueGroup, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT kind, is_move, COUNT(*), MIN(enqueued_at) FROM queue GROUP BY kind, is_move`)
	return scanAll(rows, err, func(r rowScanner) (QueueGroup, error) {
		var g QueueGroup
		var move int
		var oldest int64
		err := r.Scan(&g.Kind, &move, &g.Entries, &oldest)
		g.Move, g.Oldest = move == 1, fromMicros(oldest)
		return g, err
	})
}

// JobGroup is the jobs of one kind and state in the durable job queue
// (River's table, which package jobs migrates).
type JobGroup struct {
	Kind, State string
	Jobs        int
	// Oldest is the earliest time one of them was scheduled to run.
	Oldest time.Time
}

// FleetJobGroups aggregates River's jobs by kind and state, leaving out
// the completed ones. It fails when River's table does not exist.
func (q *Queries) FleetJobGroups(ctx context.Context) ([]JobGroup, error) {
	// MIN of a timestamp comes back as a time on PostgreSQL and as River's
	// text form on SQLite.
	rows, err := q.db.QueryContext(ctx, `SELECT kind, state, COUNT(*), MIN(scheduled_at) FROM river_job WHERE state <> 'completed' GROUP BY kind, state`)
	return scanAll(rows, err, func(r rowScanner) (JobGroup, error) {
		var g JobGroup
		var at any
		if err := r.Scan(&g.Kind, &g.State, &g.Jobs, &at); err != nil {
			return g, err
		}
		t, err := dbTime(at)
		if err != nil {
			return g, fmt.Errorf("river_job.scheduled_at: %w", err)
		}
		g.Oldest = t
		return g, nil
	})
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

// MoveGroup is the moves of one state, paid (charged to a code) or free.
type MoveGroup struct {
	State model.MoveState
	Paid  bool
	Moves int
}

// FleetMoveGroups aggregates the moves by state and whether they were paid.
func (q *Queries) FleetMoveGroups(ctx context.Context) ([]MoveGroup, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT state, paid, COUNT(*) FROM moves GROUP BY state, paid`)
	return scanAll(rows, err, func(r rowScanner) (MoveGroup, error) {
		var g MoveGroup
		var paid int
		err := r.Scan(&g.State, &paid, &g.Moves)
		g.Paid = paid != 0
		return g, err
	})
}

// GroupCount is a count for one pool kind and group label.
type GroupCount struct {
	Kind  model.Kind
	Group string
	N     int
}

// PlacementsSince counts the placements of new members (history rows
// model.ActPlaced) at or after since, by the kind and group of the pool
// they went to; placements into pools since deleted are not counted.
func (q *Queries) PlacementsSince(ctx context.Context, since time.Time) ([]GroupCount, error) {
	from, err := q.HistoryIDSince(ctx, since)
	if err != nil {
		return nil, err
	}
	group := q.groupExpr("p.labels")
	rows, err := q.db.QueryContext(ctx, `SELECT p.kind, `+group+`, COUNT(*) FROM history h JOIN pools p ON p.name = h.pool
		WHERE h.id >= $1 AND h.at >= $2 AND h.action = $3 GROUP BY p.kind, `+group,
		from, micros(since), model.ActPlaced)
	return scanAll(rows, err, func(r rowScanner) (GroupCount, error) {
		var c GroupCount
		err := r.Scan(&c.Kind, &c.Group, &c.N)
		return c, err
	})
}

// HistoryIDSince finds, by binary search on the primary key, the lowest
// history id written at or after since (ids grow with time; one past the
// last id when none is), so that a query of a recent window reads only
// the window, not the whole history.
func (q *Queries) HistoryIDSince(ctx context.Context, since time.Time) (int64, error) {
	var lo, hi sql.NullInt64
	if err := q.db.QueryRowContext(ctx, `SELECT MIN(id), MAX(id) FROM history`).Scan(&lo, &hi); err != nil {
		return 0, err
	}
	if !lo.Valid {
		return 0, nil
	}
	at := func(id int64) (int64, int64, error) { // the first row at or after id
		var got, t int64
		err := q.db.QueryRowContext(ctx, `SELECT id, at FROM history WHERE id >= $1 ORDER BY id LIMIT 1`, id).Scan(&got, &t)
		return got, t, err
	}
	want := micros(since)
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

// Release is a live seat in an active pool whose code ends at EndsAt.
type Release struct {
	Kind   model.Kind
	Group  string
	EndsAt time.Time
}

// ReleasesDue lists the live seats (reserved, provisioning, active) in
// active pools whose codes end after from and at or before to.
func (q *Queries) ReleasesDue(ctx context.Context, from, to time.Time) ([]Release, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT p.kind, `+q.groupExpr("p.labels")+`, c.ends_at FROM seats s JOIN codes c ON c.id = s.code_id JOIN pools p ON p.id = s.pool_id
		WHERE s.state IN ('reserved', 'provisioning', 'active') AND c.ends_at > $1 AND c.ends_at <= $2 AND p.status = 'active'`,
		micros(from), micros(to))
	return scanAll(rows, err, func(r rowScanner) (Release, error) {
		var rel Release
		var ends int64
		err := r.Scan(&rel.Kind, &rel.Group, &ends)
		rel.EndsAt = fromMicros(ends)
		return rel, err
	})
}
