package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthhq/berth/internal/model"
)

const codeColumns = `id, sealed, hint, group_name, max_uses, used_count, bound_email, valid_for, expires_at, activated_at, ends_at,
	rebind_limit, rebind_count, status, batch, created_at, labels`

func (q *Queries) scanCode(row interface{ Scan(...any) error }) (model.Code, error) {
	var c model.Code
	var sealed []byte
	var validFor, expires, activated, ends, created int64
	var labels string
	err := row.Scan(&c.ID, &sealed, &c.Hint, &c.Group, &c.MaxUses, &c.UsedCount, &c.BoundEmail, &validFor, &expires, &activated, &ends,
		&c.RebindLimit, &c.RebindCount, &c.Status, &c.Batch, &created, &labels)
	if err != nil {
		return c, err
	}
	if labels != "" && labels != "{}" {
		if err := json.Unmarshal([]byte(labels), &c.Labels); err != nil {
			return c, fmt.Errorf("code %d labels: %w", c.ID, err)
		}
	}
	c.ValidFor = model.Duration(time.Duration(validFor) * time.Second)
	c.ExpiresAt, c.ActivatedAt, c.EndsAt = optMicros(expires), optMicros(activated), optMicros(ends)
	c.CreatedAt = fromMicros(created)
	plain, err := q.seal.Open(sealed)
	if err != nil {
		return c, err
	}
	c.Display = string(plain)
	return c, nil
}

func optMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMicros(v)
}

func optTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

// CodeCreateParams describes one new code; Display is the code as shown,
// Normalized what is hashed for lookup.
type CodeCreateParams struct {
	Display, Normalized, Hint string
	Group                     string
	MaxUses                   int
	ValidFor                  time.Duration
	ExpiresAt                 time.Time
	RebindLimit               int
	Batch                     string
	// Labels are placement constraints beyond the group (docs/design.md).
	Labels map[string]string
}

// CodeCreate inserts an unused code. A lookup collision (practically
// impossible at 80 bits) gives ErrConflict.
func (q *Queries) CodeCreate(ctx context.Context, p CodeCreateParams) (int64, error) {
	var id int64
	err := q.db.QueryRowContext(ctx, `INSERT INTO codes (lookup, sealed, hint, group_name, max_uses, valid_for, expires_at, ends_at,
		rebind_limit, status, batch, created_at, labels) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, 'unused', $9, $10, $11)
		ON CONFLICT (lookup) DO NOTHING RETURNING id`,
		q.seal.MAC([]byte(p.Normalized)), q.seal.Seal([]byte(p.Display)), p.Hint, p.Group, p.MaxUses, int64(p.ValidFor/time.Second),
		optTime(p.ExpiresAt), p.RebindLimit, p.Batch, micros(q.now()), labelsJSON(p.Labels)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("code: %w", ErrConflict)
	}
	return id, err
}

// CodeByLookup finds a code by its normalised form. In a transaction on
// PostgreSQL the row is locked (FOR UPDATE) so that all redeems and moves of
// one code run one at a time; SQLite transactions are serial already.
func (q *Queries) CodeByLookup(ctx context.Context, normalized string, lock bool) (model.Code, error) {
	query := `SELECT ` + codeColumns + ` FROM codes WHERE lookup = $1`
	if lock && q.dialect == Postgres {
		query += ` FOR UPDATE`
	}
	c, err := q.scanCode(q.db.QueryRowContext(ctx, query, q.seal.MAC([]byte(normalized))))
	return c, notFound(err, "code")
}

// CodeGet returns a code by id.
func (q *Queries) CodeGet(ctx context.Context, id int64) (model.Code, error) {
	c, err := q.scanCode(q.db.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM codes WHERE id = $1`, id))
	return c, notFound(err, fmt.Sprintf("code %d", id))
}

// CodeFilter narrows CodeList.
type CodeFilter struct {
	Status model.CodeStatus
	Group  string
	Email  string
	Hint   string
	Batch  string
	Limit  int
	After  int64
}

// CodeList lists codes by id.
func (q *Queries) CodeList(ctx context.Context, f CodeFilter) ([]model.Code, error) {
	f.Limit = pageLimit(f.Limit, 100000, CodeMaxLimit)
	var w where
	for _, c := range []struct{ col, v string }{{"status", string(f.Status)}, {"group_name", f.Group},
		{"bound_email", f.Email}, {"hint", f.Hint}, {"batch", f.Batch}} {
		if c.v != "" {
			w.add(c.col+" = ?", c.v)
		}
	}
	w.add("id > ?", f.After)
	query := `SELECT ` + codeColumns + ` FROM codes` + w.String() + ` ORDER BY id LIMIT ` + w.arg(f.Limit)
	rows, err := q.db.QueryContext(ctx, query, w.args...)
	return scanAll(rows, err, q.scanCode)
}

// CodeUpdate writes a code's mutable fields.
func (q *Queries) CodeUpdate(ctx context.Context, c model.Code) error {
	_, err := q.db.ExecContext(ctx, `UPDATE codes SET used_count = $2, bound_email = $3, activated_at = $4, ends_at = $5,
		rebind_count = $6, status = $7 WHERE id = $1`,
		c.ID, c.UsedCount, c.BoundEmail, optTime(c.ActivatedAt), optTime(c.EndsAt), c.RebindCount, c.Status)
	return err
}

// CodesDue lists codes not yet expired whose end has passed (disabled
// ones too: their seats end like any other).
func (q *Queries) CodesDue(ctx context.Context, now time.Time, limit int) ([]model.Code, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+codeColumns+` FROM codes
		WHERE status IN ('bound', 'unused', 'disabled') AND ends_at > 0 AND ends_at <= $1 ORDER BY ends_at LIMIT $2`, micros(now), limit)
	return scanAll(rows, err, q.scanCode)
}

// CodesEnding lists bound codes ending between from and to (expiry warnings).
func (q *Queries) CodesEnding(ctx context.Context, from, to time.Time) ([]model.Code, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+codeColumns+` FROM codes
		WHERE status = 'bound' AND ends_at > $1 AND ends_at <= $2 ORDER BY ends_at`, micros(from), micros(to))
	return scanAll(rows, err, q.scanCode)
}

// CodeValidForEmail returns the email's bound, unexpired code with the
// latest end other than except; ErrNotFound when there is none.
func (q *Queries) CodeValidForEmail(ctx context.Context, email string, except int64, now time.Time) (model.Code, error) {
	c, err := q.scanCode(q.db.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM codes
		WHERE bound_email = $1 AND status = 'bound' AND id <> $2 AND (ends_at = 0 OR ends_at > $3)
		ORDER BY CASE WHEN ends_at = 0 THEN 1 ELSE 0 END DESC, ends_at DESC LIMIT 1`, email, except, micros(now)))
	return c, notFound(err, "valid code for "+email)
}

// NoticeOnce records that the expiry warning threshold was sent for a code;
// it reports false when it had been recorded before.
func (q *Queries) NoticeOnce(ctx context.Context, codeID int64, threshold int) (bool, error) {
	res, err := q.db.ExecContext(ctx, `INSERT INTO expiry_notices (code_id, threshold, sent_at) VALUES ($1, $2, $3)
		ON CONFLICT (code_id, threshold) DO NOTHING`, codeID, threshold, micros(q.now()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RateTake records one event under key if fewer than limit happened within
// window, else reports how long until the oldest leaves the window. Callers
// serialise per key (a row lock), so the count is exact across replicas.
func (q *Queries) RateTake(ctx context.Context, key string, limit int, window time.Duration) (retryAfter time.Duration, err error) {
	now := q.now()
	since := micros(now.Add(-window))
	var n int
	var oldest sql.NullInt64
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM rate_events WHERE key = $1 AND at > $2`, key, since).Scan(&n, &oldest); err != nil {
		return 0, err
	}
	if n >= limit {
		wait := fromMicros(oldest.Int64).Add(window).Sub(now)
		return max(wait, time.Second), nil
	}
	if _, err := q.db.ExecContext(ctx, `DELETE FROM rate_events WHERE key = $1 AND at <= $2`, key, since); err != nil {
		return 0, err
	}
	_, err = q.db.ExecContext(ctx, `INSERT INTO rate_events (key, at) VALUES ($1, $2)`, key, micros(now))
	return 0, err
}
