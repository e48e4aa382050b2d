package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// RebalanceSeat is a member's active seat as the rebalancer sees it
// (package alloc/plans, action rebalance).
type RebalanceSeat struct {
	SeatID      int64
	MemberID    int64
	Member      string
	PoolID      int64
	AffinityKey string
	Labels      map[string]string
	// MovedAt is when the member arrived on this seat by a move (zero:
	// the seat was its first placement).
	MovedAt time.Time
	// Moving: a move off the seat is under way.
	Moving bool
}

// RebalanceSeats lists the active seats on the pools of kind, in seat
// order: one statement, whatever the fleet's size.
func (q *Queries) RebalanceSeats(ctx context.Context, kind model.Kind) ([]RebalanceSeat, error) {
	rows, err := q.db.QueryContext(ctx, `
		SELECT s.id, s.member_id, m.external_id, s.pool_id, m.affinity_key, m.labels,
			CASE WHEN s.move_from IS NULL THEN 0 ELSE s.created_at END,
			CASE WHEN EXISTS (SELECT 1 FROM moves mv WHERE mv.from_seat = s.id AND mv.state = 'pending') THEN 1 ELSE 0 END
		FROM seats s JOIN members m ON m.id = s.member_id JOIN pools p ON p.id = s.pool_id
		WHERE p.kind = $1 AND s.state = 'active'
		ORDER BY s.id`, kind)
	return scanAll(rows, err, func(r rowScanner) (RebalanceSeat, error) {
		var (
			rs     RebalanceSeat
			labels string
			moved  int64
			moving int
		)
		if err := r.Scan(&rs.SeatID, &rs.MemberID, &rs.Member, &rs.PoolID, &rs.AffinityKey, &labels, &moved, &moving); err != nil {
			return rs, err
		}
		if moved != 0 {
			rs.MovedAt = fromMicros(moved)
		}
		rs.Moving = moving == 1
		if labels != "" && labels != "{}" {
			if err := json.Unmarshal([]byte(labels), &rs.Labels); err != nil {
				return rs, err
			}
		}
		return rs, nil
	})
}
