package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/berthhq/berth/internal/model"
)

// ErrCapacityBelowUsed refuses lowering a pool's capacity under its use.
var ErrCapacityBelowUsed = errors.New("capacity below used")

const poolColumns = `id, name, kind, capacity, used, status, status_message, status_changed_at, status_actor, labels, priority, provider_type, created_at, weight`

func scanPool(row interface{ Scan(...any) error }) (model.Pool, error) {
	var p model.Pool
	var changed, created int64
	var labels string
	err := row.Scan(&p.ID, &p.Name, &p.Kind, &p.Capacity, &p.Used, &p.Status, &p.StatusMessage,
		&changed, &p.StatusActor, &labels, &p.Priority, &p.ProviderType, &created, &p.Weight)
	if err != nil {
		return p, err
	}
	p.StatusChangedAt, p.CreatedAt = fromMicros(changed), fromMicros(created)
	p.Labels = map[string]string{}
	if err := json.Unmarshal([]byte(labels), &p.Labels); err != nil {
		return p, fmt.Errorf("pool %d labels: %w", p.ID, err)
	}
	return p, nil
}

func labelsJSON(l map[string]string) string {
	if l == nil {
		l = map[string]string{}
	}
	b, _ := json.Marshal(l) // map[string]string cannot fail
	return string(b)
}

// PoolCreateParams describes a new pool. ProviderConfig is plaintext JSON;
// the store seals it.
type PoolCreateParams struct {
	Name           string
	Kind           model.Kind
	Capacity       int
	Priority       int
	Labels         map[string]string
	ProviderType   string
	ProviderConfig []byte
	Actor          string
	// Weight is the pool's share of new members; below 1 means 1.
	Weight int
}

// PoolCreate inserts an active pool; a taken name gives ErrConflict.
func (q *Queries) PoolCreate(ctx context.Context, p PoolCreateParams) (model.Pool, error) {
	now := micros(q.now())
	row := q.db.QueryRowContext(ctx, `
		INSERT INTO pools (name, kind, capacity, used, status, status_message, status_changed_at, status_actor,
		                   labels, priority, provider_type, provider_config, created_at, weight)
		VALUES ($1, $2, $3, 0, 'active', '', $4, $5, $6, $7, $8, $9, $4, $10)
		ON CONFLICT (name) DO NOTHING
		RETURNING `+poolColumns,
		p.Name, p.Kind, p.Capacity, now, p.Actor, labelsJSON(p.Labels), p.Priority, p.ProviderType, q.seal.Seal(p.ProviderConfig), max(p.Weight, 1))
	pool, err := scanPool(row)
	if errors.Is(err, sql.ErrNoRows) {
		return pool, fmt.Errorf("pool %q: %w", p.Name, ErrConflict)
	}
	return pool, err
}

// PoolGet returns one pool by id.
func (q *Queries) PoolGet(ctx context.Context, id int64) (model.Pool, error) {
	p, err := scanPool(q.db.QueryRowContext(ctx, `SELECT `+poolColumns+` FROM pools WHERE id = $1`, id))
	return p, notFound(err, fmt.Sprintf("pool %d", id))
}

// PoolGetByName returns one pool by name.
func (q *Queries) PoolGetByName(ctx context.Context, name string) (model.Pool, error) {
	p, err := scanPool(q.db.QueryRowContext(ctx, `SELECT `+poolColumns+` FROM pools WHERE name = $1`, name))
	return p, notFound(err, fmt.Sprintf("pool %q", name))
}

// PoolList returns pools of a kind ("" = all) by priority, then name.
func (q *Queries) PoolList(ctx context.Context, kind model.Kind) ([]model.Pool, error) {
	var w where
	if kind != "" {
		w.add("kind = ?", string(kind))
	}
	rows, err := q.db.QueryContext(ctx, `SELECT `+poolColumns+` FROM pools`+w.String()+` ORDER BY priority, name`, w.args...)
	return scanAll(rows, err, scanPool)
}

// PoolProvider returns a pool's provider type and opened settings.
func (q *Queries) PoolProvider(ctx context.Context, id int64) (string, []byte, error) {
	var typ string
	var sealed []byte
	err := q.db.QueryRowContext(ctx, `SELECT provider_type, provider_config FROM pools WHERE id = $1`, id).Scan(&typ, &sealed)
	if err != nil {
		return "", nil, notFound(err, fmt.Sprintf("pool %d", id))
	}
	cfg, err := q.seal.Open(sealed)
	return typ, cfg, err
}

// PoolUpdateParams holds the fields to change; nil means unchanged.
type PoolUpdateParams struct {
	Capacity       *int
	Priority       *int
	Weight         *int // at least 1
	Labels         map[string]string
	ProviderType   *string
	ProviderConfig []byte
}

// PoolUpdate changes a pool. Lowering capacity under the pool's use fails
// with ErrCapacityBelowUsed and changes nothing.
func (q *Queries) PoolUpdate(ctx context.Context, id int64, u PoolUpdateParams) (model.Pool, error) {
	cur, err := q.PoolGet(ctx, id)
	if err != nil {
		return cur, err
	}
	var sets []string
	args := []any{id}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if u.Capacity != nil {
		add("capacity", *u.Capacity)
	}
	if u.Priority != nil {
		add("priority", *u.Priority)
	}
	if u.Weight != nil {
		add("weight", max(*u.Weight, 1))
	}
	if u.Labels != nil {
		add("labels", labelsJSON(u.Labels))
	}
	if u.ProviderType != nil {
		add("provider_type", *u.ProviderType)
	}
	if u.ProviderConfig != nil {
		add("provider_config", q.seal.Seal(u.ProviderConfig))
	}
	if len(sets) == 0 {
		return cur, nil
	}
	query := `UPDATE pools SET ` + strings.Join(sets, ", ") + ` WHERE id = $1`
	if u.Capacity != nil {
		query += ` AND used <= $2`
	}
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil {
		return cur, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		after, err := q.PoolGet(ctx, id)
		if err != nil {
			return cur, err
		}
		return cur, fmt.Errorf("pool %q holds %d members, capacity %d would overbook it: %w", cur.Name, after.Used, *u.Capacity, ErrCapacityBelowUsed)
	}
	return q.PoolGet(ctx, id)
}

// PoolSetStatus changes a pool's status and returns the pool as it was. With
// expect non-empty the change happens only while the status is still expect
// (the health monitor must not override an admin); changed reports whether
// it happened.
func (q *Queries) PoolSetStatus(ctx context.Context, id int64, st model.PoolStatus, message, actor string, expect model.PoolStatus) (before model.Pool, changed bool, err error) {
	before, err = q.PoolGet(ctx, id)
	if err != nil {
		return before, false, err
	}
	query := `UPDATE pools SET status = $2, status_message = $3, status_changed_at = $4, status_actor = $5,
		probe_failures = 0 WHERE id = $1`
	args := []any{id, st, message, micros(q.now()), actor}
	if expect != "" {
		query += ` AND status = $6`
		args = append(args, string(expect))
	}
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil {
		return before, false, err
	}
	n, err := res.RowsAffected()
	return before, n == 1, err
}

// PoolReserve takes one unit of a pool's room. It is the capacity guard of
// docs/design.md: the increment only happens while the pool is active and has
// room, atomically, so concurrent requests and replicas can never overbook.
func (q *Queries) PoolReserve(ctx context.Context, id int64) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE pools SET used = used + 1
		WHERE id = $1 AND status = 'active' AND used < capacity`, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PoolsWithRoom lists up to limit active pools of a kind that have room
// now, by the database's count: the placement index checks itself against
// it before it tells a member there is no room.
func (q *Queries) PoolsWithRoom(ctx context.Context, kind model.Kind, limit int) ([]model.Pool, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+poolColumns+` FROM pools
		WHERE kind = $1 AND status = 'active' AND used < capacity ORDER BY id LIMIT $2`, string(kind), limit)
	return scanAll(rows, err, scanPool)
}

// PoolLoad is the part of a pool that changes with every placement.
type PoolLoad struct {
	ID             int64
	Used, Capacity int
	Status         model.PoolStatus
}

// PoolLoads reads every pool of a kind's counts and status: a narrow scan
// the placement index uses to catch up after another replica filled pools.
func (q *Queries) PoolLoads(ctx context.Context, kind model.Kind) ([]PoolLoad, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, used, capacity, status FROM pools WHERE kind = $1`, string(kind))
	return scanAll(rows, err, func(r rowScanner) (c PoolLoad, err error) {
		err = r.Scan(&c.ID, &c.Used, &c.Capacity, &c.Status)
		return c, err
	})
}

// PoolGiveBack returns one unit of room (a seat left the counted states).
func (q *Queries) PoolGiveBack(ctx context.Context, id int64) error {
	_, err := q.db.ExecContext(ctx, `UPDATE pools SET used = used - 1 WHERE id = $1 AND used > 0`, id)
	return err
}

// PoolProbeResult records a health probe and returns the consecutive
// failures so far (0 after a success).
func (q *Queries) PoolProbeResult(ctx context.Context, id int64, ok bool) (int, error) {
	var n int
	var err error
	if ok {
		_, err = q.db.ExecContext(ctx, `UPDATE pools SET probe_failures = 0 WHERE id = $1`, id)
	} else {
		err = q.db.QueryRowContext(ctx, `UPDATE pools SET probe_failures = probe_failures + 1 WHERE id = $1 RETURNING probe_failures`, id).Scan(&n)
	}
	return n, err
}

// PoolAffinity counts counted seats per pool and affinity key, for the
// placement index.
func (q *Queries) PoolAffinity(ctx context.Context, kind model.Kind) (map[int64]map[string]int, error) {
	rows, err := q.db.QueryContext(ctx, `
		SELECT s.pool_id, m.affinity_key, COUNT(*)
		FROM seats s JOIN members m ON m.id = s.member_id
		WHERE m.kind = $1 AND s.state NOT IN ('released', 'failed') AND m.affinity_key <> ''
		GROUP BY s.pool_id, m.affinity_key`, kind)
	out := map[int64]map[string]int{}
	err = scanEach(rows, err, func(r rowScanner) error {
		var id int64
		var key string
		var n int
		if err := r.Scan(&id, &key, &n); err != nil {
			return err
		}
		if out[id] == nil {
			out[id] = map[string]int{}
		}
		out[id][key] = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PoolKeys lists the affinity keys (scripts) a pool holds, with counts.
func (q *Queries) PoolKeys(ctx context.Context, id int64) (map[string]int, error) {
	rows, err := q.db.QueryContext(ctx, `
		SELECT m.affinity_key, COUNT(*) FROM seats s JOIN members m ON m.id = s.member_id
		WHERE s.pool_id = $1 AND s.state NOT IN ('released', 'failed') GROUP BY m.affinity_key`, id)
	return scanCounts[string](rows, err)
}
