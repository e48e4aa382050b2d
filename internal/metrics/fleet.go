package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// fleet is one read of the fleet's state for the gauges of metrics.go and
// state.go: every number aggregated in the database (GROUP BY), and the
// pools' rows only while there are at most PoolSeries pools. A scrape at
// 100,000 pools reads a few hundred rows.
type fleet struct {
	at time.Time

	caps     map[capKey]capAgg // pools by kind, status and group
	pools    int               // how many pools there are
	perPool  []poolRow         // nil when per-pool series are off or over the cap
	poolsErr error

	seats    map[[2]string]int // (kind, state) → seats
	pending  map[string]int64  // kind → created_at (µs) of its oldest provisioning seat
	seatsErr error

	queue    map[queueKey]int
	oldest   map[string]int64 // kind → enqueued_at (µs) of its oldest entry
	queueErr error

	jobs       map[[2]string]int // (kind, state) → jobs
	jobsOldest map[string]time.Time
	jobsErr    error
}

type capAgg struct{ capacity, used, n int }

type queueKey struct {
	kind string
	move bool
}

type poolRow struct {
	name, kind, status, group string
	capacity, used            int
}

// fleetCache reads the fleet at most once per ttl; scrapes that arrive
// while a read runs wait for it and share its result (single flight).
type fleetCache struct {
	st         *store.Store
	ttl        time.Duration
	poolSeries int // < 0: never

	mu     sync.Mutex
	cur    *fleet
	flight *fleetFlight
	reads  int // reads made (tests)
}

type fleetFlight struct {
	done chan struct{}
	res  *fleet
}

// get returns a read of the fleet no older than ttl as of now.
func (c *fleetCache) get(ctx context.Context, now time.Time) *fleet {
	c.mu.Lock()
	if f := c.cur; f != nil && now.Sub(f.at) < c.ttl {
		c.mu.Unlock()
		return f
	}
	if fl := c.flight; fl != nil {
		c.mu.Unlock()
		select {
		case <-fl.done:
			return fl.res
		case <-ctx.Done():
			err := fmt.Errorf("waiting for the fleet read: %w", ctx.Err())
			return &fleet{at: now, poolsErr: err, seatsErr: err, queueErr: err, jobsErr: err}
		}
	}
	fl := &fleetFlight{done: make(chan struct{})}
	c.flight = fl
	c.reads++
	c.mu.Unlock()

	f := c.read(ctx, now)

	c.mu.Lock()
	c.cur, c.flight = f, nil
	fl.res = f
	close(fl.done)
	c.mu.Unlock()
	return f
}

// groupExpr is the SQL of a pool's group label (from its labels column, a
// JSON object), empty when it has none.
func groupExpr(d store.Dialect, labels string) string {
	if d == store.Postgres {
		return `COALESCE(` + labels + `::jsonb ->> 'group', '')`
	}
	return `COALESCE(json_extract(` + labels + `, '$.group'), '')`
}

func (c *fleetCache) read(ctx context.Context, now time.Time) *fleet {
	// The four reads fill distinct fields and run side by side.
	f := &fleet{at: now}
	var wg sync.WaitGroup
	wg.Go(func() { f.poolsErr = c.readPools(ctx, f) })
	wg.Go(func() { f.seatsErr = c.readSeats(ctx, f) })
	wg.Go(func() { f.queueErr = c.readQueue(ctx, f) })
	wg.Go(func() { f.jobsErr = c.readJobs(ctx, f) })
	wg.Wait()
	return f
}

func (c *fleetCache) readPools(ctx context.Context, f *fleet) error {
	group := groupExpr(c.st.Dialect, "labels")
	rows, err := c.st.Read.QueryContext(ctx, `SELECT kind, status, `+group+`, COUNT(*), CAST(COALESCE(SUM(capacity), 0) AS BIGINT),
		CAST(COALESCE(SUM(used), 0) AS BIGINT) FROM pools GROUP BY kind, status, `+group)
	if err != nil {
		return err
	}
	defer rows.Close()
	f.caps = map[capKey]capAgg{}
	for rows.Next() {
		var k capKey
		var a capAgg
		if err := rows.Scan(&k.kind, &k.status, &k.group, &a.n, &a.capacity, &a.used); err != nil {
			return err
		}
		f.caps[k] = a
		f.pools += a.n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if c.poolSeries < 0 || f.pools > c.poolSeries {
		return nil
	}
	// LIMIT: pools made since the count above must not lift the cap.
	rows, err = c.st.Read.QueryContext(ctx, `SELECT name, kind, status, `+group+`, capacity, used FROM pools ORDER BY id LIMIT $1`, c.poolSeries+1)
	if err != nil {
		return err
	}
	defer rows.Close()
	per := []poolRow{}
	for rows.Next() {
		var p poolRow
		if err := rows.Scan(&p.name, &p.kind, &p.status, &p.group, &p.capacity, &p.used); err != nil {
			return err
		}
		per = append(per, p)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(per) <= c.poolSeries {
		f.perPool = per
	}
	return nil
}

func (c *fleetCache) readSeats(ctx context.Context, f *fleet) error {
	rows, err := c.st.Read.QueryContext(ctx, `SELECT p.kind, s.state, COUNT(*), MIN(s.created_at) FROM seats s JOIN pools p ON p.id = s.pool_id GROUP BY p.kind, s.state`)
	if err != nil {
		return err
	}
	defer rows.Close()
	f.seats, f.pending = map[[2]string]int{}, map[string]int64{}
	for rows.Next() {
		var kind, state string
		var n int
		var oldest int64
		if err := rows.Scan(&kind, &state, &n, &oldest); err != nil {
			return err
		}
		f.seats[[2]string{kind, state}] = n
		if state == string(model.SeatProvisioning) {
			f.pending[kind] = oldest
		}
	}
	return rows.Err()
}

func (c *fleetCache) readQueue(ctx context.Context, f *fleet) error {
	rows, err := c.st.Read.QueryContext(ctx, `SELECT kind, is_move, COUNT(*), MIN(enqueued_at) FROM queue GROUP BY kind, is_move`)
	if err != nil {
		return err
	}
	defer rows.Close()
	f.queue, f.oldest = map[queueKey]int{}, map[string]int64{}
	for rows.Next() {
		var kind string
		var move, n int
		var at int64
		if err := rows.Scan(&kind, &move, &n, &at); err != nil {
			return err
		}
		f.queue[queueKey{kind, move == 1}] = n
		if o, ok := f.oldest[kind]; !ok || at < o {
			f.oldest[kind] = at
		}
	}
	return rows.Err()
}

func (c *fleetCache) readJobs(ctx context.Context, f *fleet) error {
	rows, err := c.st.Read.QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM river_job WHERE state <> 'completed' GROUP BY kind, state`)
	if err != nil {
		return err
	}
	f.jobs = map[[2]string]int{}
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			rows.Close()
			return err
		}
		f.jobs[[2]string{kind, state}] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// MIN of a timestamp comes back as a time on PostgreSQL and as River's
	// text form on SQLite.
	rows, err = c.st.Read.QueryContext(ctx, `SELECT kind, MIN(scheduled_at) FROM river_job WHERE state = 'available' GROUP BY kind`)
	if err != nil {
		return err
	}
	defer rows.Close()
	f.jobsOldest = map[string]time.Time{}
	for rows.Next() {
		var kind string
		var at any
		if err := rows.Scan(&kind, &at); err != nil {
			return err
		}
		t, err := dbTime(at)
		if err != nil {
			return fmt.Errorf("river_job.scheduled_at: %w", err)
		}
		f.jobsOldest[kind] = t
	}
	return rows.Err()
}
