package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry is one row of the audit log: who did what to which resource,
// what it looked like before and after. Before, After and Request hold JSON
// with secrets already redacted (package auth redacts before storing), or
// nothing.
type AuditEntry struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Target   string          `json:"target"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
	Request  json.RawMessage `json:"request,omitempty"`
	RemoteIP string          `json:"remote_ip"`
	Status   int             `json:"status"`
}

func rawText(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return ""
	}
	return string(m)
}

func textRaw(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// AuditAdd appends an entry; At defaults to now. It returns the entry's id.
func (q *Queries) AuditAdd(ctx context.Context, e AuditEntry) (int64, error) {
	at := e.At
	if at.IsZero() {
		at = q.now()
	}
	var id int64
	err := q.db.QueryRowContext(ctx, `INSERT INTO audit (at, actor, action, target, "before", "after", remote_ip, status, request)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		micros(at), e.Actor, e.Action, e.Target, rawText(e.Before), rawText(e.After), e.RemoteIP, e.Status, rawText(e.Request)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	return id, nil
}

// AuditFilter narrows AuditList.
type AuditFilter struct {
	Actor string
	// Action matches entries whose action contains it, ignoring case
	// ("pools" finds every pool route).
	Action   string
	Target   string
	Since    time.Time // inclusive; zero: no bound
	Until    time.Time // exclusive; zero: no bound
	BeforeID int64     // only entries with a lower id (paging back)
	Limit    int       // 0: 500; at most 100000
}

// AuditList returns entries newest first.
func (q *Queries) AuditList(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	f.Limit = pageLimit(f.Limit, 500, AuditMaxLimit)
	var w where
	if f.Actor != "" {
		w.add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		w.add(`LOWER(action) LIKE LOWER(?) ESCAPE '\'`, "%"+likeEscape(f.Action)+"%")
	}
	if f.Target != "" {
		w.add("target = ?", f.Target)
	}
	if since := micros(f.Since); !f.Since.IsZero() && since != 0 {
		w.add("at >= ?", since)
	}
	if until := micros(f.Until); !f.Until.IsZero() && until != 0 {
		w.add("at < ?", until)
	}
	if f.BeforeID != 0 {
		w.add("id < ?", f.BeforeID)
	}
	rows, err := q.db.QueryContext(ctx, `SELECT id, at, actor, action, target, "before", "after", remote_ip, status, request FROM audit`+
		w.String()+` ORDER BY id DESC LIMIT `+w.arg(f.Limit), w.args...)
	return scanAll(rows, err, func(r rowScanner) (AuditEntry, error) {
		var e AuditEntry
		var at int64
		var before, after, request string
		if err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &before, &after, &e.RemoteIP, &e.Status, &request); err != nil {
			return e, err
		}
		e.At = fromMicros(at)
		e.Before, e.After, e.Request = textRaw(before), textRaw(after), textRaw(request)
		return e, nil
	})
}
