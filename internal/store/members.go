package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/berthhq/berth/internal/model"
)

const memberColumns = `id, kind, external_id, affinity_key, labels, file_name, state, reason, created_at, why`

func scanMember(row interface{ Scan(...any) error }) (model.Member, error) {
	var m model.Member
	var labels string
	var created int64
	if err := row.Scan(&m.ID, &m.Kind, &m.ExternalID, &m.AffinityKey, &labels, &m.FileName, &m.State, &m.Reason, &created, whyDest{&m.Why}); err != nil {
		return m, err
	}
	m.CreatedAt = fromMicros(created)
	m.Labels = map[string]string{}
	return m, json.Unmarshal([]byte(labels), &m.Labels)
}

// MemberCreateParams describes a new member; FileData is sealed by the store.
type MemberCreateParams struct {
	Kind        model.Kind
	ExternalID  string
	AffinityKey string
	Labels      map[string]string
	FileName    string
	FileData    []byte
}

// MemberCreate inserts a pending member. created is false when a member with
// the same kind and external id exists; then that member is returned as is.
func (q *Queries) MemberCreate(ctx context.Context, p MemberCreateParams) (m model.Member, created bool, err error) {
	var sealed []byte
	if p.FileData != nil {
		sealed = q.seal.Seal(p.FileData)
	}
	m, err = scanMember(q.db.QueryRowContext(ctx, `
		INSERT INTO members (kind, external_id, affinity_key, labels, file_name, file_data, state, reason, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', '', $7)
		ON CONFLICT (kind, external_id) DO NOTHING
		RETURNING `+memberColumns,
		p.Kind, p.ExternalID, p.AffinityKey, labelsJSON(p.Labels), p.FileName, sealed, micros(q.now())))
	if errors.Is(err, sql.ErrNoRows) {
		m, err = q.MemberGetByExternal(ctx, p.Kind, p.ExternalID)
		return m, false, err
	}
	return m, err == nil, err
}

// MemberGet returns a member by id.
func (q *Queries) MemberGet(ctx context.Context, id int64) (model.Member, error) {
	m, err := scanMember(q.db.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members WHERE id = $1`, id))
	return m, notFound(err, fmt.Sprintf("member %d", id))
}

// MemberGetByExternal returns a member by kind and external id.
func (q *Queries) MemberGetByExternal(ctx context.Context, kind model.Kind, ext string) (model.Member, error) {
	m, err := scanMember(q.db.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members WHERE kind = $1 AND external_id = $2`, kind, ext))
	return m, notFound(err, fmt.Sprintf("member %q", ext))
}

// MemberFile returns a member's opened credential file.
func (q *Queries) MemberFile(ctx context.Context, id int64) (string, []byte, error) {
	var name string
	var sealed []byte
	if err := q.db.QueryRowContext(ctx, `SELECT file_name, file_data FROM members WHERE id = $1`, id).Scan(&name, &sealed); err != nil {
		return "", nil, notFound(err, fmt.Sprintf("member %d", id))
	}
	if sealed == nil {
		return name, nil, nil
	}
	data, err := q.seal.Open(sealed)
	return name, data, err
}

// MemberSetState moves a member from one of the states in from (any when
// empty) to state; it reports whether the member was in such a state. The
// reason's data (why) is cleared: see MemberSetStateWhy.
func (q *Queries) MemberSetState(ctx context.Context, id int64, state model.MemberState, reason string, from ...model.MemberState) (bool, error) {
	return q.MemberSetStateWhy(ctx, id, state, reason, nil, from...)
}

// MemberSetStateWhy is MemberSetState with the reason also kept as data
// (a queued member's placement explanation).
func (q *Queries) MemberSetStateWhy(ctx context.Context, id int64, state model.MemberState, reason string, why *model.Why, from ...model.MemberState) (bool, error) {
	query := `UPDATE members SET state = $2, reason = $3, why = $4 WHERE id = $1`
	args := []any{id, state, reason, whyArg(why)}
	query += inClause("state", from, &args)
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MembersByState lists up to limit members of a kind in a state, oldest first.
func (q *Queries) MembersByState(ctx context.Context, kind model.Kind, state model.MemberState, limit int) ([]model.Member, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+memberColumns+` FROM members WHERE kind = $1 AND state = $2 ORDER BY id LIMIT $3`, kind, state, limit)
	return scanAll(rows, err, scanMember)
}

// Account is one row of the accounts listing.
type Account struct {
	Account string `json:"account"`
	Script  string `json:"script"`
	Pool    string `json:"pool"`
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"`
	// Why is Reason as data when it is a placement's (a queued account).
	Why *model.Why `json:"why,omitempty"`
	// MemberID orders the listing (AfterID pages by it); not answered.
	MemberID int64 `json:"-"`
}

// AccountFilter narrows AccountList; empty fields match all.
type AccountFilter struct {
	Script, Pool string
	Limit        int
	AfterID      int64
}

// AccountList lists server members with their live seat (if any). State is
// the seat's state when placed, otherwise the member's (queued, pending, failed).
func (q *Queries) AccountList(ctx context.Context, f AccountFilter) ([]Account, error) {
	f.Limit = pageLimit(f.Limit, 1000, 0)
	var w where
	w.conds = append(w.conds, "m.kind = 'server'")
	if f.Script != "" {
		w.add("m.affinity_key = ?", f.Script)
	}
	if f.Pool != "" {
		w.add("p.name = ?", f.Pool)
	}
	w.add("m.id > ?", f.AfterID)
	rows, err := q.db.QueryContext(ctx, `
		SELECT m.external_id, m.affinity_key, COALESCE(p.name, ''), COALESCE(s.state, m.state), m.reason, m.id, m.why
		FROM members m
		LEFT JOIN seats s ON s.id = (SELECT MAX(s2.id) FROM seats s2 WHERE s2.member_id = m.id AND s2.state NOT IN ('released', 'failed'))
		LEFT JOIN pools p ON p.id = s.pool_id`+w.String()+`
		ORDER BY m.id LIMIT `+w.arg(f.Limit), w.args...)
	return scanAll(rows, err, func(r rowScanner) (a Account, err error) {
		err = r.Scan(&a.Account, &a.Script, &a.Pool, &a.State, &a.Reason, &a.MemberID, whyDest{&a.Why})
		return a, err
	})
}

// inClause appends "AND col IN ($n, …)" for vals to a query; nothing when
// vals is empty.
func inClause[T ~string](col string, vals []T, args *[]any) string {
	if len(vals) == 0 {
		return ""
	}
	return " AND " + inList(col, vals, args)
}

// inList is "col IN ($n, …)" with vals bound in args (vals not empty).
func inList[T ~string](col string, vals []T, args *[]any) string {
	s := col + " IN ("
	for i, v := range vals {
		*args = append(*args, string(v))
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("$%d", len(*args))
	}
	return s + ")"
}

// MembersClaim moves the given members from pending to queued ("placing")
// in one statement and returns the ids it moved: only one transaction can
// claim a pending member, so no member is placed twice.
func (q *Queries) MembersClaim(ctx context.Context, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	args, in := idArgs(ids) // padded: few distinct texts
	rows, err := q.db.QueryContext(ctx, `UPDATE members SET state = 'queued', reason = 'placing'
		WHERE state = 'pending' AND id IN (`+in+`) RETURNING id`, args...)
	claimed, err := scanAll(rows, err, scanID)
	if err != nil {
		return nil, err
	}
	for _, id := range claimed {
		out[id] = true
	}
	return out, nil
}
