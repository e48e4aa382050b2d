package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/berthhq/berth/internal/model"
)

// ErrBadCursor is a listing's cursor that this store did not hand out.
var ErrBadCursor = errors.New("invalid cursor")

// Cursors are opaque to clients: the base64url of a small JSON object that
// holds the last row's ordering key, so a page starts right after it even
// when rows came or went in between.

func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, v) != nil {
		return ErrBadCursor
	}
	return nil
}

// poolKey is where a page of pools ends: PoolList's order.
type poolKey struct {
	Priority int    `json:"p"`
	Name     string `json:"n"`
}

// PoolPage returns at most limit pools of a kind ("" = all) in PoolList's
// order (priority, then name), starting after cursor ("" = the first
// page), and the cursor of the next page: "" when none follow.
func (q *Queries) PoolPage(ctx context.Context, kind model.Kind, cursor string, limit int) ([]model.Pool, string, error) {
	limit = pageLimit(limit, 1000, 10000)
	var w where
	if kind != "" {
		w.add("kind = ?", string(kind))
	}
	if cursor != "" {
		var k poolKey
		if err := decodeCursor(cursor, &k); err != nil || k.Name == "" {
			return nil, "", ErrBadCursor
		}
		p := w.arg(k.Priority)
		w.conds = append(w.conds, fmt.Sprintf("(priority > %s OR (priority = %s AND name > %s))", p, p, w.arg(k.Name)))
	}
	rows, err := q.db.QueryContext(ctx, `SELECT `+poolColumns+` FROM pools`+w.String()+` ORDER BY priority, name LIMIT `+w.arg(limit+1), w.args...)
	pools, err := scanAll(rows, err, scanPool)
	if err != nil || len(pools) <= limit {
		return pools, "", err
	}
	last := pools[limit-1]
	return pools[:limit], encodeCursor(poolKey{Priority: last.Priority, Name: last.Name}), nil
}

// queueKey is where a page of the queue ends: QueueList's order, and the
// position of its last entry.
type queueKey struct {
	Kind     string `json:"k"`
	Move     int    `json:"m"`
	Seq      int64  `json:"s"`
	ID       int64  `json:"i"`
	Position int    `json:"pos"`
}

// QueuePage returns at most limit entries of a kind's queue ("" = both)
// in QueueList's order (service order), starting after cursor ("" = the
// first page), each with its position, and the cursor of the next page:
// "" when none follow.
func (q *Queries) QueuePage(ctx context.Context, kind model.Kind, cursor string, limit int) ([]model.QueueEntry, string, error) {
	limit = pageLimit(limit, 10000, 100000)
	var w where
	if kind != "" {
		w.add("q.kind = ?", string(kind))
	}
	var k queueKey
	if cursor != "" {
		if err := decodeCursor(cursor, &k); err != nil || k.Kind == "" || k.Position < 0 {
			return nil, "", ErrBadCursor
		}
		kd, mv, seq, id := w.arg(k.Kind), w.arg(k.Move), w.arg(k.Seq), w.arg(k.ID)
		w.conds = append(w.conds, fmt.Sprintf(`(q.kind > %[1]s OR (q.kind = %[1]s AND (q.is_move < %[2]s OR (q.is_move = %[2]s AND
			(q.seq > %[3]s OR (q.seq = %[3]s AND q.id > %[4]s))))))`, kd, mv, seq, id))
	}
	type row struct {
		e    model.QueueEntry
		move int
		seq  int64
	}
	rows, err := q.db.QueryContext(ctx, `
		SELECT q.id, q.member_id, m.external_id, q.kind, q.is_move, COALESCE(q.from_seat, 0), q.reason, q.enqueued_at, q.seq, q.why
		FROM queue q JOIN members m ON m.id = q.member_id`+w.String()+`
		ORDER BY q.kind, q.is_move DESC, q.seq, q.id LIMIT `+w.arg(limit+1), w.args...)
	got, err := scanAll(rows, err, func(r rowScanner) (x row, err error) {
		var at int64
		err = r.Scan(&x.e.ID, &x.e.MemberID, &x.e.Member, &x.e.Kind, &x.move, &x.e.FromSeat, &x.e.Reason, &at, &x.seq, whyDest{&x.e.Why})
		x.e.IsMove, x.e.EnqueuedAt = x.move == 1, fromMicros(at)
		return x, err
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]model.QueueEntry, 0, min(len(got), limit))
	for i, x := range got {
		if i == limit {
			break
		}
		x.e.Position = k.Position + i + 1
		out = append(out, x.e)
	}
	if len(got) <= limit {
		return out, "", nil
	}
	last := got[limit-1]
	return out, encodeCursor(queueKey{Kind: string(last.e.Kind), Move: last.move, Seq: last.seq, ID: last.e.ID, Position: k.Position + limit}), nil
}
