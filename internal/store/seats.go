package store

import (
	"context"
	"fmt"
	"time"

	"github.com/berthhq/berth/internal/model"
)

const seatSelect = `SELECT s.id, s.member_id, m.external_id, s.pool_id, p.name, s.state, COALESCE(s.move_from, 0),
	COALESCE(s.code_id, 0), s.attempts, s.last_error, s.created_at, s.updated_at
	FROM seats s JOIN members m ON m.id = s.member_id JOIN pools p ON p.id = s.pool_id`

func scanSeat(row interface{ Scan(...any) error }) (model.Seat, error) {
	var s model.Seat
	var created, updated int64
	err := row.Scan(&s.ID, &s.MemberID, &s.Member, &s.PoolID, &s.Pool, &s.State, &s.MoveFrom, &s.CodeID, &s.Attempts, &s.LastError, &created, &updated)
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return s, err
}

// SeatCreate inserts a seat. The caller must have taken the room with
// PoolReserve in the same transaction.
func (q *Queries) SeatCreate(ctx context.Context, memberID, poolID int64, state model.SeatState, moveFrom, codeID int64) (int64, error) {
	now := micros(q.now())
	var id int64
	err := q.db.QueryRowContext(ctx, `INSERT INTO seats (member_id, pool_id, state, move_from, code_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, memberID, poolID, state, nullID(moveFrom), nullID(codeID), now).Scan(&id)
	return id, err
}

// SeatSetCode records which code a seat now rests on (expiry carry-over).
func (q *Queries) SeatSetCode(ctx context.Context, seatID, codeID int64) error {
	_, err := q.db.ExecContext(ctx, `UPDATE seats SET code_id = $2, updated_at = $3 WHERE id = $1`, seatID, nullID(codeID), micros(q.now()))
	return err
}

// SeatsByCode lists the live seats resting on a code.
func (q *Queries) SeatsByCode(ctx context.Context, codeID int64) ([]model.Seat, error) {
	rows, err := q.db.QueryContext(ctx, seatSelect+` WHERE s.code_id = $1 AND s.state IN ('reserved', 'provisioning', 'active')`, codeID)
	return scanAll(rows, err, scanSeat)
}

// SeatGet returns a seat by id.
func (q *Queries) SeatGet(ctx context.Context, id int64) (model.Seat, error) {
	s, err := scanSeat(q.db.QueryRowContext(ctx, seatSelect+` WHERE s.id = $1`, id))
	return s, notFound(err, fmt.Sprintf("seat %d", id))
}

// SeatTransition moves a seat to state if it is in one of from, recording
// errText (an empty errText keeps the last error). It reports whether the seat moved; a false answer means another
// worker got there first, which callers treat as "nothing to do".
func (q *Queries) SeatTransition(ctx context.Context, id int64, to model.SeatState, errText string, from ...model.SeatState) (bool, error) {
	args := []any{id, to, errText, micros(q.now())}
	query := `UPDATE seats SET state = $2, last_error = COALESCE(NULLIF($3, ''), last_error), updated_at = $4 WHERE id = $1` + inClause("state", from, &args)
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SeatAttempt counts one delivery attempt and records its error.
func (q *Queries) SeatAttempt(ctx context.Context, id int64, errText string) error {
	_, err := q.db.ExecContext(ctx, `UPDATE seats SET attempts = attempts + 1, last_error = $2, updated_at = $3 WHERE id = $1`, id, errText, micros(q.now()))
	return err
}

// SeatList returns seats matching filter, newest first.
type SeatFilter struct {
	MemberID int64
	PoolID   int64
	States   []model.SeatState
	// BeforeID, when set, lists only seats older than it (a page's cursor:
	// seats come newest first).
	BeforeID int64
	Limit    int
}

// SeatList lists seats.
func (q *Queries) SeatList(ctx context.Context, f SeatFilter) ([]model.Seat, error) {
	f.Limit = pageLimit(f.Limit, 100000, 0)
	var w where
	if f.MemberID != 0 {
		w.add("s.member_id = ?", f.MemberID)
	}
	if f.PoolID != 0 {
		w.add("s.pool_id = ?", f.PoolID)
	}
	if len(f.States) > 0 {
		w.conds = append(w.conds, inList("s.state", f.States, &w.args))
	}
	if f.BeforeID != 0 {
		w.add("s.id < ?", f.BeforeID)
	}
	query := seatSelect + w.String() + ` ORDER BY s.id DESC LIMIT ` + w.arg(f.Limit)
	rows, err := q.db.QueryContext(ctx, query, w.args...)
	return scanAll(rows, err, scanSeat)
}

// CountedSeats returns, per pool, how many seats count against capacity; the
// integrity checker compares it with pools.used.
func (q *Queries) CountedSeats(ctx context.Context) (map[int64]int, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT pool_id, COUNT(*) FROM seats WHERE state NOT IN ('released', 'failed') GROUP BY pool_id`)
	return scanCounts[int64](rows, err)
}

// SeatLive returns the member's newest live (reserved, provisioning, active)
// seat; ErrNotFound when it has none.
func (q *Queries) SeatLive(ctx context.Context, memberID int64) (model.Seat, error) {
	s, err := scanSeat(q.db.QueryRowContext(ctx, seatSelect+` WHERE s.member_id = $1 AND s.state IN ('reserved', 'provisioning', 'active')
		ORDER BY s.id DESC LIMIT 1`, memberID))
	return s, notFound(err, fmt.Sprintf("live seat of member %d", memberID))
}

// SeatCountByState counts seats per state.
func (q *Queries) SeatCountByState(ctx context.Context) (map[model.SeatState]int, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM seats GROUP BY state`)
	return scanCounts[model.SeatState](rows, err)
}

// SeatsStuck lists seats in one of states not updated since before: their
// job may have been lost (the sweep enqueues it again).
func (q *Queries) SeatsStuck(ctx context.Context, before time.Time, limit int, states ...model.SeatState) ([]model.Seat, error) {
	args := []any{micros(before), limit}
	rows, err := q.db.QueryContext(ctx, seatSelect+` WHERE s.updated_at < $1`+inClause("s.state", states, &args)+` ORDER BY s.id LIMIT $2`, args...)
	return scanAll(rows, err, scanSeat)
}
