package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/model"
)

// Bulk writes for batches: one statement for many rows where the
// single-row methods would run one each. A statement's text depends on its
// row count, so rows are cut into chunks of a few fixed sizes (and id
// lists padded up to one): the texts repeat and stay prepared in SQLite's
// statement cache (stmtcache.go), where a text seen once would be parsed
// anew each time — for a few hundred parameters, dearer than running it.
// Row counts per statement stay far below SQLite's limit of 32,766 bound
// parameters.

// chunkSizes are the row counts of multi-row statements, largest first.
var chunkSizes = []int{128, 32, 8, 2, 1}

// chunks cuts n rows into runs of chunkSizes: [lo, hi) pairs.
func chunks(n int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; {
		for _, size := range chunkSizes {
			if n-lo >= size {
				out = append(out, [2]int{lo, lo + size})
				lo += size
				break
			}
		}
	}
	return out
}

// padIDs returns ids lengthened to the next list size by repeating the
// last id (an IN list means the same with an id twice), so few distinct
// texts exist; lists above the largest size are left as they are.
func padIDs(ids []int64) []int64 {
	for _, size := range []int{1, 2, 8, 32, 128, 512} {
		if len(ids) <= size {
			out := make([]int64, size)
			copy(out, ids)
			for i := len(ids); i < size; i++ {
				out[i] = ids[len(ids)-1]
			}
			return out
		}
	}
	return ids
}

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
	for i, p := range ps {
		if p.Kind != ps[0].Kind {
			return nil, nil, fmt.Errorf("MemberCreateMany: kinds %s and %s in one call", ps[0].Kind, p.Kind)
		}
		if _, dup := at[p.ExternalID]; dup {
			return nil, nil, fmt.Errorf("MemberCreateMany: %q twice", p.ExternalID)
		}
		at[p.ExternalID] = i
	}
	now := micros(q.now())
	found := 0
	for _, ch := range chunks(len(ps)) {
		var b strings.Builder
		b.WriteString(`INSERT INTO members (kind, external_id, affinity_key, labels, file_name, file_data, state, reason, created_at) VALUES `)
		args := make([]any, 0, 7*(ch[1]-ch[0]))
		for i, p := range ps[ch[0]:ch[1]] {
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
		err = scanEach(rows, err, func(r rowScanner) error {
			m, err := scanMember(r)
			if err != nil {
				return err
			}
			i := at[m.ExternalID]
			out[i], created[i] = m, true
			found++
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
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
	args := []any{ps[0].Kind}
	rows, err := q.db.QueryContext(ctx, `SELECT `+memberColumns+` FROM members WHERE kind = $1 AND `+inList("external_id", missing, &args), args...)
	err = scanEach(rows, err, func(r rowScanner) error {
		m, err := scanMember(r)
		if err != nil {
			return err
		}
		out[at[m.ExternalID]] = m
		found++
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if found != len(ps) {
		return nil, nil, fmt.Errorf("MemberCreateMany: %d of %d members neither created nor found", len(ps)-found, len(ps))
	}
	return out, created, nil
}

// SeatParams is one new seat for SeatCreateMany.
type SeatParams struct {
	MemberID, PoolID int64
	State            model.SeatState
	CodeID           int64 // the redeem code the seat rests on; 0 for none
}

// SeatCreateMany inserts seats, one per member, and returns their ids in
// the order given.
func (q *Queries) SeatCreateMany(ctx context.Context, ss []SeatParams) ([]int64, error) {
	ids := make([]int64, len(ss))
	if len(ss) == 0 {
		return ids, nil
	}
	at := make(map[int64]int, len(ss))
	for i, s := range ss {
		if _, dup := at[s.MemberID]; dup {
			return nil, fmt.Errorf("SeatCreateMany: member %d twice", s.MemberID)
		}
		at[s.MemberID] = i
	}
	now := micros(q.now())
	n := 0
	for _, ch := range chunks(len(ss)) {
		var b strings.Builder
		b.WriteString(`INSERT INTO seats (member_id, pool_id, state, code_id, created_at, updated_at) VALUES `)
		args := make([]any, 0, 5*(ch[1]-ch[0]))
		for i, s := range ss[ch[0]:ch[1]] {
			if i > 0 {
				b.WriteString(", ")
			}
			k := len(args)
			fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+5)
			args = append(args, s.MemberID, s.PoolID, s.State, nullID(s.CodeID), now)
		}
		b.WriteString(` RETURNING id, member_id`)
		rows, err := q.db.QueryContext(ctx, b.String(), args...)
		err = scanEach(rows, err, func(r rowScanner) error {
			var id, member int64
			if err := r.Scan(&id, &member); err != nil {
				return err
			}
			ids[at[member]] = id
			n++
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if n != len(ss) {
		return nil, errors.New("SeatCreateMany: fewer seats returned than inserted")
	}
	return ids, nil
}

// MembersSetState sets the state and reason of many members at once (and
// clears the reason's data, see MemberSetStateWhy).
func (q *Queries) MembersSetState(ctx context.Context, ids []int64, state model.MemberState, reason string) error {
	if len(ids) == 0 {
		return nil
	}
	var b strings.Builder
	args := []any{state, reason}
	b.WriteString(`UPDATE members SET state = $1, reason = $2, why = NULL WHERE id IN (`)
	for i, id := range padIDs(ids) {
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

// CodesLocked returns codes by id (in id order, which is also the order
// their row locks are taken on PostgreSQL, so two replicas' batches do not
// deadlock on them); ids not found are left out.
func (q *Queries) CodesLocked(ctx context.Context, ids []int64) ([]model.Code, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var b strings.Builder
	args := make([]any, 0, len(ids))
	b.WriteString(`SELECT ` + codeColumns + ` FROM codes WHERE id IN (`)
	for i, id := range padIDs(ids) {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, id)
		fmt.Fprintf(&b, "$%d", len(args))
	}
	b.WriteString(`) ORDER BY id`)
	if q.dialect == Postgres {
		b.WriteString(` FOR UPDATE`)
	}
	rows, err := q.db.QueryContext(ctx, b.String(), args...)
	return scanAll(rows, err, q.scanCode)
}

// valuesTable is "(SELECT CAST($1 AS T1) AS c1, … UNION ALL SELECT …) AS
// v", a derived table of rows both engines accept in UPDATE … FROM.
func valuesTable(b *strings.Builder, args *[]any, cols []string, types []string, rows [][]any) {
	b.WriteByte('(')
	for r, row := range rows {
		if r > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT ")
		for i, v := range row {
			*args = append(*args, v)
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "CAST($%d AS %s) AS %s", len(*args), types[i], cols[i])
		}
	}
	b.WriteString(") AS v")
}

// PoolReserveMany takes need[id] seats of each pool at once, each pool
// only if it is active and has room for all it needs (PoolReserve's guard,
// for a batch), in one statement. It returns the pools that refused.
func (q *Queries) PoolReserveMany(ctx context.Context, need map[int64]int) (map[int64]bool, error) {
	refused := map[int64]bool{}
	if len(need) == 0 {
		return refused, nil
	}
	rows := make([][]any, 0, len(need))
	for id, n := range need {
		rows = append(rows, []any{id, n})
		refused[id] = true
	}
	slices.SortFunc(rows, func(a, b []any) int { return cmp.Compare(a[0].(int64), b[0].(int64)) })
	for _, ch := range chunks(len(rows)) {
		var b strings.Builder
		var args []any
		b.WriteString(`UPDATE pools SET used = used + v.n FROM `)
		valuesTable(&b, &args, []string{"id", "n"}, []string{"BIGINT", "INTEGER"}, rows[ch[0]:ch[1]])
		b.WriteString(` WHERE pools.id = v.id AND pools.status = 'active' AND pools.used + v.n <= pools.capacity RETURNING pools.id`)
		res, err := q.db.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, err
		}
		for res.Next() {
			var id int64
			if err := res.Scan(&id); err != nil {
				res.Close()
				return nil, err
			}
			delete(refused, id)
		}
		if err := res.Close(); err != nil {
			return nil, err
		}
		if err := res.Err(); err != nil {
			return nil, err
		}
	}
	return refused, nil
}

// CodeUpdateMany writes what CodeUpdate writes for many codes, in one
// statement.
func (q *Queries) CodeUpdateMany(ctx context.Context, cs []model.Code) error {
	if len(cs) == 0 {
		return nil
	}
	if len(cs) == 1 {
		return q.CodeUpdate(ctx, cs[0])
	}
	rows := make([][]any, len(cs))
	for i, c := range cs {
		rows[i] = []any{c.ID, c.UsedCount, c.BoundEmail, optTime(c.ActivatedAt), optTime(c.EndsAt), c.RebindCount, string(c.Status)}
	}
	for _, ch := range chunks(len(rows)) {
		var b strings.Builder
		var args []any
		b.WriteString(`UPDATE codes SET used_count = v.used_count, bound_email = v.bound_email, activated_at = v.activated_at,
		ends_at = v.ends_at, rebind_count = v.rebind_count, status = v.status FROM `)
		valuesTable(&b, &args, []string{"id", "used_count", "bound_email", "activated_at", "ends_at", "rebind_count", "status"},
			[]string{"BIGINT", "INTEGER", "TEXT", "BIGINT", "BIGINT", "INTEGER", "TEXT"}, rows[ch[0]:ch[1]])
		b.WriteString(` WHERE codes.id = v.id`)
		if _, err := q.db.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
