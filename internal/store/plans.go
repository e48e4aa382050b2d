package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// PlanRow is a stored plan (package alloc/plans gives its fields meaning):
// the action and its params, the steps it would take and what it read
// when planned (Preconditions), all as JSON; AppliedAt is zero until an
// apply claims it, and Result is what that apply did.
type PlanRow struct {
	ID            int64
	Action        string
	Params        json.RawMessage
	Steps         json.RawMessage
	Preconditions json.RawMessage
	Actor         string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	AppliedAt     time.Time
	AppliedBy     string
	Result        json.RawMessage
	// Summary is what the plan measured when made (the rebalancer's
	// imbalance), as JSON; empty when the action measures nothing.
	Summary json.RawMessage
	// Pending counts the applied plan's steps still waiting for the paced
	// job (PlansPending).
	Pending int
}

// PlanCreate stores a plan and returns its id.
func (q *Queries) PlanCreate(ctx context.Context, p PlanRow) (int64, error) {
	var id int64
	// Until it is applied, a plan is finished when it expires
	// (PlansDeleteFinishedBefore).
	err := q.db.QueryRowContext(ctx, `INSERT INTO plans (action, params, steps, preconditions, actor, created_at, expires_at, summary, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, p.Action, string(p.Params), string(p.Steps), string(p.Preconditions),
		p.Actor, micros(p.CreatedAt), micros(p.ExpiresAt), string(p.Summary), micros(p.ExpiresAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("plan: %w", err)
	}
	return id, nil
}

// PlanGet reads one plan; ErrNotFound when it does not exist.
func (q *Queries) PlanGet(ctx context.Context, id int64) (PlanRow, error) {
	var (
		p                               PlanRow
		params, steps, pre, result      string
		summary                         string
		createdAt, expiresAt, appliedAt int64
	)
	err := q.db.QueryRowContext(ctx, `SELECT id, action, params, steps, preconditions, actor, created_at, expires_at, applied_at, applied_by, result,
		summary, pending FROM plans WHERE id = $1`, id).Scan(&p.ID, &p.Action, &params, &steps, &pre, &p.Actor, &createdAt, &expiresAt, &appliedAt,
		&p.AppliedBy, &result, &summary, &p.Pending)
	if err != nil {
		return PlanRow{}, notFound(err, fmt.Sprintf("plan %d", id))
	}
	p.Params, p.Steps, p.Preconditions = json.RawMessage(params), json.RawMessage(steps), json.RawMessage(pre)
	p.CreatedAt, p.ExpiresAt = fromMicros(createdAt), fromMicros(expiresAt)
	if appliedAt != 0 {
		p.AppliedAt = fromMicros(appliedAt)
	}
	if result != "" {
		p.Result = json.RawMessage(result)
	}
	if summary != "" {
		p.Summary = json.RawMessage(summary)
	}
	return p, nil
}

// PlanClaim marks plan id applied by actor at at, if no apply has claimed
// it yet; it reports whether this call did. Run inside the apply's
// transaction: on PostgreSQL a second claimer waits for the first
// transaction's row lock and then finds the plan claimed (or, if the
// first rolled back, claims it itself); SQLite has one writer.
func (q *Queries) PlanClaim(ctx context.Context, id int64, actor string, at time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE plans SET applied_at = $1, applied_by = $2 WHERE id = $3 AND applied_at = 0`, micros(at), actor, id)
	if err != nil {
		return false, fmt.Errorf("claim plan %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PlanSetResult records what applying plan id did. Each result and
// progress written is the plan's finished_at, which counts once no paced
// step is pending (PlansDeleteFinishedBefore).
func (q *Queries) PlanSetResult(ctx context.Context, id int64, result json.RawMessage) error {
	_, err := q.db.ExecContext(ctx, `UPDATE plans SET result = $1, finished_at = $2 WHERE id = $3`, string(result), micros(q.now()), id)
	return err
}

// PlanSetProgress records what applying plan id did so far and how many of
// its steps still wait for the paced job.
func (q *Queries) PlanSetProgress(ctx context.Context, id int64, result json.RawMessage, pending int) error {
	_, err := q.db.ExecContext(ctx, `UPDATE plans SET result = $1, pending = $2, finished_at = $3 WHERE id = $4`, string(result), pending, micros(q.now()), id)
	return err
}

// PlansPending lists, oldest first, the plans with steps waiting for the
// paced job.
func (q *Queries) PlansPending(ctx context.Context, limit int) ([]int64, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id FROM plans WHERE pending > 0 ORDER BY id LIMIT $1`, limit)
	return scanAll(rows, err, func(r rowScanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})
}

// PlanSetPending records how many of plan id's steps wait for the paced
// job.
func (q *Queries) PlanSetPending(ctx context.Context, id int64, pending int) error {
	_, err := q.db.ExecContext(ctx, `UPDATE plans SET pending = $1 WHERE id = $2`, pending, id)
	return err
}

// PlanSetProgressIfPending is PlanSetProgress unless the plan's paced steps
// were stopped meanwhile (pending 0): the stop wins.
func (q *Queries) PlanSetProgressIfPending(ctx context.Context, id int64, result json.RawMessage, pending int) error {
	_, err := q.db.ExecContext(ctx, `UPDATE plans SET result = $1, pending = $2, finished_at = $3 WHERE id = $4 AND pending > 0`, string(result), pending,
		micros(q.now()), id)
	return err
}

// PlansDeleteFinishedBefore deletes the plans that finished before t (the
// sweep's retention, BERTH_PLAN_RETENTION) and says how many went: a plan
// never applied finishes when it expires, an applied one when its apply
// last recorded a result. A plan with a paced step still scheduled
// (pending > 0) is never deleted, however old; no other table references
// plans. One DELETE on the partial index plans_finished (migration 014).
func (q *Queries) PlansDeleteFinishedBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM plans WHERE pending = 0 AND finished_at < $1`, micros(t))
	if err != nil {
		return 0, fmt.Errorf("delete finished plans: %w", err)
	}
	return res.RowsAffected()
}
