package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// HistoryAdd appends one entry; At defaults to now.
func (q *Queries) HistoryAdd(ctx context.Context, h model.HistoryEntry) error {
	at := h.At
	if at.IsZero() {
		at = q.now()
	}
	if h.Actor == "" {
		h.Actor = "system"
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO history (at, member, pool, action, from_pool, to_pool, reason, actor, code_id, why)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, micros(at), h.Member, h.Pool, h.Action, h.From, h.To, h.Reason, h.Actor, h.CodeID, whyArg(h.Why))
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// HistoryAddMany writes entries in one statement (a multi-row insert),
// in order; none is a no-op.
func (q *Queries) HistoryAddMany(ctx context.Context, hs ...model.HistoryEntry) error {
	if len(hs) == 0 {
		return nil
	}
	if len(hs) == 1 {
		return q.HistoryAdd(ctx, hs[0])
	}
	now := q.now()
	for _, ch := range chunks(len(hs)) {
		if err := q.historyInsert(ctx, now, hs[ch[0]:ch[1]]); err != nil {
			return err
		}
	}
	return nil
}

// historyInsert writes hs with one multi-row insert.
func (q *Queries) historyInsert(ctx context.Context, now time.Time, hs []model.HistoryEntry) error {
	if len(hs) == 1 {
		return q.HistoryAdd(ctx, hs[0])
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO history (at, member, pool, action, from_pool, to_pool, reason, actor, code_id, why) VALUES `)
	args := make([]any, 0, 10*len(hs))
	for i, h := range hs {
		at := h.At
		if at.IsZero() {
			at = now
		}
		if h.Actor == "" {
			h.Actor = "system"
		}
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10)
		args = append(args, micros(at), h.Member, h.Pool, h.Action, h.From, h.To, h.Reason, h.Actor, h.CodeID, whyArg(h.Why))
	}
	if _, err := q.db.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// HistoryFilter narrows HistoryList; Pool matches the pool, from or to.
type HistoryFilter struct {
	Member   string
	Pool     string
	Action   string
	CodeID   int64
	BeforeID int64
	Limit    int
}

// HistoryList returns entries newest first.
func (q *Queries) HistoryList(ctx context.Context, f HistoryFilter) ([]model.HistoryEntry, error) {
	f.Limit = pageLimit(f.Limit, 500, HistoryMaxLimit)
	var w where
	if f.Member != "" {
		w.add("member = ?", f.Member)
	}
	if f.Pool != "" {
		w.add("(pool = ? OR from_pool = ? OR to_pool = ?)", f.Pool)
	}
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	if f.BeforeID != 0 {
		w.add("id < ?", f.BeforeID)
	}
	if f.CodeID != 0 {
		w.add("code_id = ?", f.CodeID)
	}
	query := `SELECT id, at, member, pool, action, from_pool, to_pool, reason, actor, code_id, why FROM history` +
		w.String() + ` ORDER BY id DESC LIMIT ` + w.arg(f.Limit)
	rows, err := q.db.QueryContext(ctx, query, w.args...)
	return scanAll(rows, err, func(r rowScanner) (h model.HistoryEntry, err error) {
		var at int64
		err = r.Scan(&h.ID, &at, &h.Member, &h.Pool, &h.Action, &h.From, &h.To, &h.Reason, &h.Actor, &h.CodeID, whyDest{&h.Why})
		h.At = fromMicros(at)
		return h, err
	})
}

// SettingGet reads a setting; ErrNotFound when unset.
func (q *Queries) SettingGet(ctx context.Context, key string) (string, error) {
	var v string
	err := q.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	return v, notFound(err, "setting "+key)
}

// SettingSet writes a setting only if it is unset; it reports whether it wrote.
func (q *Queries) SettingSetOnce(ctx context.Context, key, value string) (bool, error) {
	res, err := q.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
