package store

import (
	"context"
	"fmt"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// MoveNotice is what the user is told about a finished move (package
// notify's move mail, and the public status page).
type MoveNotice struct {
	Move model.Move
	// Kind is the member's kind: only team members (an e-mail address) are
	// told.
	Kind model.Kind
	// Why is the reason the move was started with ("paid: rebind 1 of 3",
	// "drain of team-a", "moved by admin", ...); Move.Reason is how it ended.
	Why string
	// From and To are the names of the pools of the old and the new seat
	// (To is empty while no new seat is known).
	From, To string
	// RebindCount and RebindLimit are the move's code's moves used and
	// allowed now (zero without a code).
	RebindCount, RebindLimit int
	// NotifiedAt is when the user's e-mail about the move went out; zero
	// when it has not.
	NotifiedAt time.Time
}

const moveNoticeSelect = `SELECT mv.id, mv.member_id, m.external_id, mv.from_seat, COALESCE(mv.to_seat, 0), COALESCE(mv.code_id, 0), mv.paid,
	mv.state, mv.reason, mv.actor, mv.created_at, mv.finished_at, m.kind, mv.why, pf.name, COALESCE(pt.name, ''),
	COALESCE(c.rebind_count, 0), COALESCE(c.rebind_limit, 0), mv.notified_at
	FROM moves mv JOIN members m ON m.id = mv.member_id
	JOIN seats sf ON sf.id = mv.from_seat JOIN pools pf ON pf.id = sf.pool_id
	LEFT JOIN seats st ON st.id = mv.to_seat LEFT JOIN pools pt ON pt.id = st.pool_id
	LEFT JOIN codes c ON c.id = mv.code_id`

func scanMoveNotice(row interface{ Scan(...any) error }) (MoveNotice, error) {
	var n MoveNotice
	mv := &n.Move
	var paid int
	var created, finished, notified int64
	err := row.Scan(&mv.ID, &mv.MemberID, &mv.Member, &mv.FromSeat, &mv.ToSeat, &mv.CodeID, &paid, &mv.State, &mv.Reason, &mv.Actor,
		&created, &finished, &n.Kind, &n.Why, &n.From, &n.To, &n.RebindCount, &n.RebindLimit, &notified)
	mv.Paid, mv.CreatedAt, mv.FinishedAt, n.NotifiedAt = paid == 1, fromMicros(created), optMicros(finished), optMicros(notified)
	return n, err
}

// MoveNoticeGet reads what the user is told about move id.
func (q *Queries) MoveNoticeGet(ctx context.Context, id int64) (MoveNotice, error) {
	n, err := scanMoveNotice(q.db.QueryRowContext(ctx, moveNoticeSelect+` WHERE mv.id = $1`, id))
	return n, notFound(err, fmt.Sprintf("move %d", id))
}

// MoveLastDone reads the member's latest finished (done) move; ErrNotFound
// when it has none.
func (q *Queries) MoveLastDone(ctx context.Context, memberID int64) (MoveNotice, error) {
	n, err := scanMoveNotice(q.db.QueryRowContext(ctx, moveNoticeSelect+` WHERE mv.member_id = $1 AND mv.state = 'done' ORDER BY mv.id DESC LIMIT 1`, memberID))
	return n, notFound(err, fmt.Sprintf("finished move of member %d", memberID))
}

// MoveNotified records that the user's e-mail about move id went out; it
// reports false when it was recorded before.
func (q *Queries) MoveNotified(ctx context.Context, id int64) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE moves SET notified_at = $2 WHERE id = $1 AND notified_at = 0`, id, micros(q.now()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
