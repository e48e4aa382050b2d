package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berthhq/berth/internal/model"
)

// Bulk writes for batch imports: one statement for many rows where the
// single-row methods would run one each. Row counts per statement stay
// below SQLite's limit of 32,766 bound parameters.

// MemberCreateMany inserts pending members as MemberCreate does, in one
// statement, and returns each one with whether it was created; a member
// that exists (same kind and external id) is returned as is. The params
// must name distinct external ids of one kind.
func (q *Queries) MemberCreateMany(ctx context.Context, ps []MemberCreateParams) ([]model.Member, []bool, error) {
	out, created := make([]model.Member, len(ps)), make([]bool, len(ps))
	if len(ps) == 0 {
		return out, created, nil
	}
	at := map[string]int{}
	var b strings.Builder
	b.WriteString(`INSERT INTO members (kind, external_id, affinity_key, labels, file_name, file_data, state, reason, created_at) VALUES `)
	args := make([]any, 0, 7*len(ps))
	now := micros(q.now())
	for i, p := range ps {
		if p.Kind != ps[0].Kind {
			return nil, nil, fmt.Errorf("MemberCreateMany: kinds %s and %s in one call", ps[0].Kind, p.Kind)
		}
		if _, dup := at[p.ExternalID]; dup {
			return nil, nil, fmt.Errorf("MemberCreateMany: %q twice", p.ExternalID)
		}
		at[p.ExternalID] = i
		var sealed []byte
		if p.FileData != nil {
			sealed = q.seal.Seal(p.FileData)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, 'pending', '', $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		args = append(args, p.Kind, p.ExternalID, p.AffinityKey, labelsJSON(p.Labels), p.FileName, sealed, now)
	}
	b.WriteString(` ON CONFLICT (kind, external_id) DO NOTHING RETURNING ` + memberColumns)
	rows, err := q.db.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, nil, err
	}
	found := 0
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		i := at[m.ExternalID]
		out[i], created[i] = m, true
		found++
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if found == len(ps) {
		return out, created, nil
	}
	// The ones that existed.
	var missing []string
	for i, p := range ps {
		if !created[i] {
			missing = append(missing, p.ExternalID)
		}
	}
	args = []any{ps[0].Kind}
	rows, err = q.db.QueryContext(ctx, `SELECT `+memberColumns+` FROM members WHERE kind = $1 AND `+inList("external_id", missing, &args), args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, nil, err
		}
		out[at[m.ExternalID]] = m
		found++
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if found != len(ps) {
		return nil, nil, fmt.Errorf("MemberCreateMany: %d of %d members neither created nor found", len(ps)-found, len(ps))
	}
	return out, created, nil
}

// PoolReserveN takes n seats of a pool at once if it is active and has
// room for all n (the capacity guard of PoolReserve, for a batch).
func (q *Queries) PoolReserveN(ctx context.Context, id int64, n int) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE pools SET used = used + $2
		WHERE id = $1 AND status = 'active' AND used + $2 <= capacity`, id, n)
	if err != nil {
		return false, err
	}
	rows, err := res.RowsAffected()
	return rows == 1, err
}

// SeatParams is one new seat for SeatCreateMany.
type SeatParams struct {
	MemberID, PoolID int64
	State            model.SeatState
}

// SeatCreateMany inserts seats, one per member, and returns their ids in
// the order given.
func (q *Queries) SeatCreateMany(ctx context.Context, ss []SeatParams) ([]int64, error) {
	ids := make([]int64, len(ss))
	if len(ss) == 0 {
		return ids, nil
	}
	at := make(map[int64]int, len(ss))
	var b strings.Builder
	b.WriteString(`INSERT INTO seats (member_id, pool_id, state, created_at, updated_at) VALUES `)
	args := make([]any, 0, 4*len(ss))
	now := micros(q.now())
	for i, s := range ss {
		if _, dup := at[s.MemberID]; dup {
			return nil, fmt.Errorf("SeatCreateMany: member %d twice", s.MemberID)
		}
		at[s.MemberID] = i
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+4)
		args = append(args, s.MemberID, s.PoolID, s.State, now)
	}
	b.WriteString(` RETURNING id, member_id`)
	rows, err := q.db.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, member int64
		if err := rows.Scan(&id, &member); err != nil {
			return nil, err
		}
		ids[at[member]] = id
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if n != len(ss) {
		return nil, errors.New("SeatCreateMany: fewer seats returned than inserted")
	}
	return ids, nil
}

// MembersSetState sets the state and reason of many members at once.
func (q *Queries) MembersSetState(ctx context.Context, ids []int64, state model.MemberState, reason string) error {
	if len(ids) == 0 {
		return nil
	}
	var b strings.Builder
	args := []any{state, reason}
	b.WriteString(`UPDATE members SET state = $1, reason = $2 WHERE id IN (`)
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, id)
		fmt.Fprintf(&b, "$%d", len(args))
	}
	b.WriteByte(')')
	_, err := q.db.ExecContext(ctx, b.String(), args...)
	return err
}
