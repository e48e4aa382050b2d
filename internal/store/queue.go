package store

import (
	"context"
	"fmt"

	"github.com/berthhq/berth/internal/model"
)

// Queue order and positions (one definition, used by every answer that
// tells a member where it waits).
//
// A kind's queue is served moves first (is_move = 1), then new members, each
// group by ticket (queue.seq), id breaking ties (rows migrated from before
// tickets have seq = id). An enqueue takes its kind's next ticket from the
// kind's queue_seq row (an upsert … RETURNING that adds one) and, on
// PostgreSQL, keeps that row locked until its transaction ends (on SQLite one writer runs at
// a time anyway). So enqueues of one kind take turns — within one replica
// and across replicas — and their tickets follow the order they commit in.
//
// A member's position is 1 + the number of entries of its kind, still
// queued, served before it. QueuePush counts it in a statement of its own
// after taking the ticket: under PostgreSQL's READ COMMITTED a statement
// sees every transaction committed before it began, and every transaction
// holding an earlier ticket committed before this one could take the lock,
// so the count misses nobody ahead; nobody can enqueue behind (or ahead)
// until this transaction ends. Several enqueues in one transaction (a
// placer batch) each see the earlier ones. The position told is therefore
// exact when counted and nobody else's: two enqueues never hear the same
// number unless entries ahead left in between. It can only change later
// because entries ahead leave (a drain, a cancel — including a removal
// that commits while this transaction runs: the number then falls by one
// at once) or a move is queued ahead of a new member (it rises by one).
// Counting the queue in an enqueuer's own snapshot without the lock, as
// before, told two replicas' users the same place.
//
// The lock lasts as long as the enqueuing transaction, a placer batch:
// another replica's batch that queues a member of the kind waits for its
// commit. A batch that queues and then reserves a pool can meet one that
// reserved that pool and then queues; PostgreSQL ends that deadlock and the
// placer runs the calls again alone (alloc/placer.go, settle), as for two
// batches reserving the same pools in different orders.

// QueuePush puts a member at the back of its kind's queue (moves go ahead of
// new members) and returns its position, 1-based (see above). A member
// already queued keeps its place (and its ticket).
func (q *Queries) QueuePush(ctx context.Context, e model.QueueEntry) (int, error) {
	var from any
	if e.FromSeat != 0 {
		from = e.FromSeat
	}
	move := 0
	if e.IsMove {
		move = 1
	}
	// The ticket and the kind's lock, held until the transaction ends. The
	// migration made a row for every kind; the upsert covers a new one.
	var seq int64
	if err := q.db.QueryRowContext(ctx, `INSERT INTO queue_seq (kind, n) VALUES ($1, 1)
		ON CONFLICT (kind) DO UPDATE SET n = queue_seq.n + 1 RETURNING n`, e.Kind).Scan(&seq); err != nil {
		return 0, fmt.Errorf("queue ticket: %w", err)
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO queue (member_id, kind, is_move, from_seat, reason, enqueued_at, seq, why)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (member_id) DO UPDATE SET reason = excluded.reason, why = excluded.why`,
		e.MemberID, e.Kind, move, from, e.Reason, micros(q.now()), seq, whyArg(e.Why))
	if err != nil {
		return 0, err
	}
	return q.QueuePosition(ctx, e.MemberID)
}

// QueuePosition returns a member's 1-based place in its queue, 0 if absent:
// the entries of its kind still queued and served before it, plus one (see
// QueuePush for why the count is exact where a position is told).
func (q *Queries) QueuePosition(ctx context.Context, memberID int64) (int, error) {
	var pos int
	err := q.db.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM queue o JOIN queue me ON me.member_id = $1
		WHERE o.kind = me.kind AND (o.is_move > me.is_move OR (o.is_move = me.is_move
			AND (o.seq < me.seq OR (o.seq = me.seq AND o.id <= me.id))))`, memberID).Scan(&pos)
	return pos, err
}

// QueueList returns a kind's queue in service order (QueuePush), each
// entry with its position: the first page of QueuePage, of at most limit
// (0 = 100000) entries.
func (q *Queries) QueueList(ctx context.Context, kind model.Kind, limit int) ([]model.QueueEntry, error) {
	items, _, err := q.QueuePage(ctx, kind, "", pageLimit(limit, 100000, 0))
	return items, err
}

// QueueRemove takes a member out of the queue; it reports whether it was there.
func (q *Queries) QueueRemove(ctx context.Context, memberID int64) (bool, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM queue WHERE member_id = $1`, memberID)
	if err != nil {
		return false, fmt.Errorf("queue remove: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// QueueLen counts a kind's waiting members.
func (q *Queries) QueueLen(ctx context.Context, kind model.Kind) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM queue WHERE kind = $1`, kind).Scan(&n)
	return n, err
}

// QueueWaiting reports whether anyone of kind waits in the queue.
func (q *Queries) QueueWaiting(ctx context.Context, kind model.Kind) (bool, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM queue WHERE kind = $1 LIMIT 1) w`, kind).Scan(&n)
	return n > 0, err
}

// QueueGet returns a member's queue entry.
func (q *Queries) QueueGet(ctx context.Context, memberID int64) (model.QueueEntry, error) {
	return q.queueGet(ctx, memberID, false)
}

// QueueGetLocked returns a member's queue entry, locking it until the
// transaction ends (PostgreSQL; SQLite transactions are serial already), so
// two drains cannot both serve it.
func (q *Queries) QueueGetLocked(ctx context.Context, memberID int64) (model.QueueEntry, error) {
	return q.queueGet(ctx, memberID, true)
}

func (q *Queries) queueGet(ctx context.Context, memberID int64, lock bool) (model.QueueEntry, error) {
	var e model.QueueEntry
	var move int
	var at int64
	query := `SELECT q.id, q.member_id, m.external_id, q.kind, q.is_move, COALESCE(q.from_seat, 0), q.reason, q.enqueued_at, q.why
		FROM queue q JOIN members m ON m.id = q.member_id WHERE q.member_id = $1`
	if lock && q.dialect == Postgres {
		query += ` FOR UPDATE OF q`
	}
	err := q.db.QueryRowContext(ctx, query, memberID).
		Scan(&e.ID, &e.MemberID, &e.Member, &e.Kind, &move, &e.FromSeat, &e.Reason, &at, whyDest{&e.Why})
	e.IsMove, e.EnqueuedAt = move == 1, fromMicros(at)
	return e, notFound(err, "queue entry")
}
