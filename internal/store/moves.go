package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/berthhq/berth/internal/model"
)

const moveSelect = `SELECT mv.id, mv.member_id, m.external_id, mv.from_seat, COALESCE(mv.to_seat, 0), COALESCE(mv.code_id, 0), mv.paid,
	mv.state, mv.reason, mv.actor, mv.created_at, mv.finished_at FROM moves mv JOIN members m ON m.id = mv.member_id`

func scanMove(row interface{ Scan(...any) error }) (model.Move, error) {
	var mv model.Move
	var paid int
	var created, finished int64
	err := row.Scan(&mv.ID, &mv.MemberID, &mv.Member, &mv.FromSeat, &mv.ToSeat, &mv.CodeID, &paid, &mv.State, &mv.Reason, &mv.Actor, &created, &finished)
	mv.Paid, mv.CreatedAt, mv.FinishedAt = paid == 1, fromMicros(created), optMicros(finished)
	return mv, err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// MoveCreate records a pending move off fromSeat. A seat has at most one
// pending move (unique index); a second gives ErrConflict.
func (q *Queries) MoveCreate(ctx context.Context, mv model.Move) (int64, error) {
	paid := 0
	if mv.Paid {
		paid = 1
	}
	var id int64
	// why keeps the starting reason: reason is overwritten when the move ends.
	err := q.db.QueryRowContext(ctx, `INSERT INTO moves (member_id, from_seat, to_seat, code_id, paid, state, reason, why, actor, created_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id`,
		mv.MemberID, mv.FromSeat, nullID(mv.ToSeat), nullID(mv.CodeID), paid, mv.Reason, mv.Actor, micros(q.now())).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("seat %d already moving: %w", mv.FromSeat, ErrConflict)
	}
	return id, err
}

// MovePending returns the pending move off a seat.
func (q *Queries) MovePending(ctx context.Context, fromSeat int64) (model.Move, error) {
	mv, err := scanMove(q.db.QueryRowContext(ctx, moveSelect+` WHERE mv.from_seat = $1 AND mv.state = 'pending'`, fromSeat))
	return mv, notFound(err, fmt.Sprintf("pending move off seat %d", fromSeat))
}

// MoveSetTarget records the seat a pending move now heads to (0: queued).
func (q *Queries) MoveSetTarget(ctx context.Context, id, toSeat int64) error {
	_, err := q.db.ExecContext(ctx, `UPDATE moves SET to_seat = $2 WHERE id = $1`, id, nullID(toSeat))
	return err
}

// MoveFinish ends a pending move; it reports whether it was pending.
func (q *Queries) MoveFinish(ctx context.Context, id int64, state model.MoveState, reason string) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE moves SET state = $2, reason = CASE WHEN $3 = '' THEN reason ELSE $3 END, finished_at = $4
		WHERE id = $1 AND state = 'pending'`, id, state, reason, micros(q.now()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MoveList lists moves, newest first; olderThan > 0 keeps pending moves
// created before now-olderThan (zombies).
func (q *Queries) MoveList(ctx context.Context, state model.MoveState, olderThan time.Duration, limit int) ([]model.Move, error) {
	return q.moveList(ctx, state, olderThan, 0, limit)
}

// MoveListBefore lists moves in a state ("" = all), newest first, with an
// id lower than beforeID (0 = from the newest): a page of MoveList.
func (q *Queries) MoveListBefore(ctx context.Context, state model.MoveState, beforeID int64, limit int) ([]model.Move, error) {
	return q.moveList(ctx, state, 0, beforeID, limit)
}

func (q *Queries) moveList(ctx context.Context, state model.MoveState, olderThan time.Duration, beforeID int64, limit int) ([]model.Move, error) {
	limit = pageLimit(limit, 1000, 0)
	var w where
	if state != "" {
		w.add("mv.state = ?", string(state))
	}
	if beforeID != 0 {
		w.add("mv.id < ?", beforeID)
	}
	if olderThan > 0 {
		if before := micros(q.now().Add(-olderThan)); before != 0 {
			w.add("mv.created_at < ?", before)
		}
	}
	rows, err := q.db.QueryContext(ctx, moveSelect+w.String()+` ORDER BY mv.id DESC LIMIT `+w.arg(limit), w.args...)
	return scanAll(rows, err, scanMove)
}

// DrainCounts are the moves off one pool's seats, by where they are: what
// a drain's progress page shows.
type DrainCounts struct {
	// Moved finished; Failed gave up; Cancelled were called off.
	Moved, Failed, Cancelled int
	// Waiting are pending moves without a target seat yet (queued);
	// InProgress are pending moves heading to a seat.
	Waiting, InProgress int
}

// Pending is how many moves are still under way (waiting or in progress).
func (c DrainCounts) Pending() int { return c.Waiting + c.InProgress }

// MoveCountsFromPool counts the moves off poolID's seats created at or
// after since (zero: all of them).
func (q *Queries) MoveCountsFromPool(ctx context.Context, poolID int64, since time.Time) (DrainCounts, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT mv.state, mv.to_seat IS NOT NULL, COUNT(*) FROM moves mv JOIN seats s ON s.id = mv.from_seat
		WHERE s.pool_id = $1 AND mv.created_at >= $2 GROUP BY mv.state, mv.to_seat IS NOT NULL`, poolID, micros(since))
	var c DrainCounts
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var state model.MoveState
		var targeted bool
		var n int
		if err := rows.Scan(&state, &targeted, &n); err != nil {
			return c, err
		}
		switch {
		case state == model.MoveDone:
			c.Moved += n
		case state == model.MoveFailed:
			c.Failed += n
		case state == model.MoveCancelled:
			c.Cancelled += n
		case targeted:
			c.InProgress += n
		default:
			c.Waiting += n
		}
	}
	return c, rows.Err()
}
