package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// The integrity checker's queries (package integrity). Every one aggregates
// in the database (GROUP BY / HAVING) and returns only the rows that break
// an invariant, so a check stays cheap with hundreds of thousands of seats.

// liveStates is the SQL list of live seat states (model.SeatState.Live).
const liveStates = `('reserved', 'provisioning', 'active')`

// explainedJoin joins, to each seat s, the pending move that explains it:
// s was placed to replace src (s.move_from), src is a live seat of the same
// member, and the move off src is still pending. mv.id is NULL otherwise.
const explainedJoin = `
	LEFT JOIN seats src ON src.id = s.move_from AND src.member_id = s.member_id AND src.state IN ` + liveStates + `
	LEFT JOIN moves mv ON mv.from_seat = src.id AND mv.state = 'pending'`

// OrphanMembers returns the ids of members, lowest first, holding more live
// seats than their pending moves explain: a member may hold one live seat,
// plus one per pending move off one of its live seats (make before break).
// Only members whose newest live seat was created before before are
// returned, at most limit of them.
func (q *Queries) OrphanMembers(ctx context.Context, before time.Time, limit int) ([]int64, error) {
	// COUNT(DISTINCT mv.id): one pending move explains one extra seat, even
	// when two seats claim to replace the same one.
	rows, err := q.db.QueryContext(ctx, `SELECT s.member_id FROM seats s`+explainedJoin+`
		WHERE s.state IN `+liveStates+`
		GROUP BY s.member_id
		HAVING COUNT(*) - COUNT(DISTINCT mv.id) >= 2 AND MAX(s.created_at) < $1
		ORDER BY s.member_id LIMIT $2`, micros(before), limit)
	return scanAll(rows, err, scanID)
}

// LiveSeat is a live seat as the integrity checker sees it.
type LiveSeat struct {
	ID         int64
	MemberID   int64
	Member     string
	Kind       model.Kind
	PoolID     int64
	Pool       string
	PoolStatus model.PoolStatus
	State      model.SeatState
	MoveFrom   int64
	// MoveID is the pending move that explains this seat (see
	// OrphanMembers); 0 when none does.
	MoveID    int64
	CreatedAt time.Time
}

// LiveSeatsOf returns the live seats of the given members, by member id and
// then newest seat first.
func (q *Queries) LiveSeatsOf(ctx context.Context, memberIDs []int64) ([]LiveSeat, error) {
	var out []LiveSeat
	const chunk = 500
	for start := 0; start < len(memberIDs); start += chunk {
		ids := memberIDs[start:min(start+chunk, len(memberIDs))]
		args := make([]any, len(ids))
		marks := make([]string, len(ids))
		for i, id := range ids {
			args[i] = id
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
		rows, err := q.db.QueryContext(ctx, `SELECT s.id, s.member_id, m.external_id, m.kind, s.pool_id, p.name, p.status, s.state,
			COALESCE(s.move_from, 0), COALESCE(mv.id, 0), s.created_at
			FROM seats s JOIN members m ON m.id = s.member_id JOIN pools p ON p.id = s.pool_id`+explainedJoin+`
			WHERE s.state IN `+liveStates+` AND s.member_id IN (`+strings.Join(marks, ", ")+`)
			ORDER BY s.member_id, s.created_at DESC, s.id DESC`, args...)
		seats, err := scanAll(rows, err, func(r rowScanner) (s LiveSeat, err error) {
			var created int64
			err = r.Scan(&s.ID, &s.MemberID, &s.Member, &s.Kind, &s.PoolID, &s.Pool, &s.PoolStatus, &s.State,
				&s.MoveFrom, &s.MoveID, &created)
			s.CreatedAt = fromMicros(created)
			return s, err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, seats...)
	}
	return out, nil
}

// PoolCount is a pool's recorded use beside what its seats say.
type PoolCount struct {
	PoolID   int64
	Pool     string
	Capacity int
	// Used is pools.used; Counted the seats that count against capacity
	// (every state but released and failed).
	Used, Counted int
}

// PoolCountsWrong returns the pools, by id, whose use is over capacity or
// disagrees with their counted seats, at most limit of them. Both numbers
// come from one statement, so they are one snapshot.
func (q *Queries) PoolCountsWrong(ctx context.Context, limit int) ([]PoolCount, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT p.id, p.name, p.capacity, p.used, COALESCE(c.n, 0)
		FROM pools p LEFT JOIN (SELECT pool_id, COUNT(*) AS n FROM seats WHERE state NOT IN ('released', 'failed') GROUP BY pool_id) c
		  ON c.pool_id = p.id
		WHERE p.used > p.capacity OR COALESCE(c.n, 0) > p.capacity OR p.used <> COALESCE(c.n, 0)
		ORDER BY p.id LIMIT $1`, limit)
	return scanAll(rows, err, func(r rowScanner) (c PoolCount, err error) {
		err = r.Scan(&c.PoolID, &c.Pool, &c.Capacity, &c.Used, &c.Counted)
		return c, err
	})
}

// CodeCount is a code's recorded counters beside what its history says.
type CodeCount struct {
	CodeID int64
	// UsedCount and RebindCount are the code's columns; UsedDerived is
	// code.used minus code.refunded history rows, RebindDerived
	// rebind.charged minus rebind.refunded.
	UsedCount, UsedDerived     int
	RebindCount, RebindDerived int
}

// CodeCountsWrong returns the codes, by id, whose used_count or
// rebind_count disagrees with their history (docs/design.md, invariant 3), at
// most limit of them.
func (q *Queries) CodeCountsWrong(ctx context.Context, limit int) ([]CodeCount, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT c.id, c.used_count, COALESCE(h.used, 0), c.rebind_count, COALESCE(h.rebind, 0)
		FROM codes c LEFT JOIN (
			SELECT code_id,
			       SUM(CASE WHEN action = $1 THEN 1 WHEN action = $2 THEN -1 ELSE 0 END) AS used,
			       SUM(CASE WHEN action = $3 THEN 1 WHEN action = $4 THEN -1 ELSE 0 END) AS rebind
			FROM history WHERE code_id <> 0 AND action IN ($1, $2, $3, $4) GROUP BY code_id) h
		  ON h.code_id = c.id
		WHERE c.used_count <> COALESCE(h.used, 0) OR c.rebind_count <> COALESCE(h.rebind, 0)
		ORDER BY c.id LIMIT $5`,
		model.ActCodeUsed, model.ActCodeRefunded, model.ActRebindCharged, model.ActRebindRefunded, limit)
	return scanAll(rows, err, func(r rowScanner) (c CodeCount, err error) {
		err = r.Scan(&c.CodeID, &c.UsedCount, &c.UsedDerived, &c.RebindCount, &c.RebindDerived)
		return c, err
	})
}

// ZombieMoves returns the moves still pending that were created before
// before, oldest first, at most limit of them.
func (q *Queries) ZombieMoves(ctx context.Context, before time.Time, limit int) ([]model.Move, error) {
	// Not MoveList: it orders newest first and takes an age, not a time.
	rows, err := q.db.QueryContext(ctx, moveSelect+` WHERE mv.state = 'pending' AND mv.created_at < $1
		ORDER BY mv.created_at, mv.id LIMIT $2`, micros(before), limit)
	return scanAll(rows, err, scanMove)
}
