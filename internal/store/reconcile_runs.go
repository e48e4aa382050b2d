package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berthhq/berth/internal/model"
)

// ReconcileRunCreate records a reconcile run asked for with options (JSON),
// queued; the caller enqueues its job in the same transaction.
func (q *Queries) ReconcileRunCreate(ctx context.Context, p model.Pool, options json.RawMessage, actor string) (model.ReconcileRun, error) {
	r := model.ReconcileRun{PoolID: p.ID, Pool: p.Name, State: model.ReconcileQueued, Options: options, Actor: actor, CreatedAt: q.now()}
	err := q.db.QueryRowContext(ctx, `INSERT INTO reconcile_runs (pool_id, pool, state, options, actor, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, r.PoolID, r.Pool, string(r.State), string(options), actor, micros(r.CreatedAt)).Scan(&r.ID)
	if err != nil {
		return model.ReconcileRun{}, fmt.Errorf("reconcile run: %w", err)
	}
	return r, nil
}

// ReconcileRunStart marks a run running (its job has begun).
func (q *Queries) ReconcileRunStart(ctx context.Context, id int64) error {
	_, err := q.db.ExecContext(ctx, `UPDATE reconcile_runs SET state = $1 WHERE id = $2`, string(model.ReconcileRunning), id)
	return err
}

// ReconcileRunFinish ends a run: done with its report (JSON), or failed
// with errText.
func (q *Queries) ReconcileRunFinish(ctx context.Context, id int64, state model.ReconcileState, report json.RawMessage, errText string) error {
	_, err := q.db.ExecContext(ctx, `UPDATE reconcile_runs SET state = $1, report = $2, error = $3, finished_at = $4 WHERE id = $5`,
		string(state), string(report), errText, micros(q.now()), id)
	return err
}

// ReconcileRunGet reads one run; ErrNotFound when it does not exist.
func (q *Queries) ReconcileRunGet(ctx context.Context, id int64) (model.ReconcileRun, error) {
	var (
		r                      model.ReconcileRun
		state, options, report string
		createdAt, finishedAt  int64
	)
	err := q.db.QueryRowContext(ctx, `SELECT id, pool_id, pool, state, options, report, error, actor, created_at, finished_at
		FROM reconcile_runs WHERE id = $1`, id).Scan(&r.ID, &r.PoolID, &r.Pool, &state, &options, &report, &r.Error, &r.Actor, &createdAt, &finishedAt)
	if err != nil {
		return model.ReconcileRun{}, notFound(err, fmt.Sprintf("reconcile run %d", id))
	}
	r.State, r.CreatedAt = model.ReconcileState(state), fromMicros(createdAt)
	if options != "" {
		r.Options = json.RawMessage(options)
	}
	if report != "" {
		r.Report = json.RawMessage(report)
	}
	if finishedAt != 0 {
		r.FinishedAt = fromMicros(finishedAt)
	}
	return r, nil
}
