package httpx

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/berthhq/berth/internal/store"
)

// Auditor writes the audit log; auth.Service is one.
type Auditor interface {
	Audit(ctx context.Context, e store.AuditEntry)
}

// Audit is a front end's audit middleware: one row per request to a
// state-changing route, written once the handler is done, and one per
// attempt refused for the caller's role (Guard). A row holds the action
// (Prefix and the route's pattern), the status answered and what the note
// says; the actor and address come from the context (the Auditor's part).
type Audit struct {
	// Auditor writes the rows; nil writes none.
	Auditor Auditor
	// Prefix goes before the route's pattern in a row's action: "" in the
	// API ("POST /api/v1/pools"), "web: " in the console.
	Prefix string
	// Describe completes a note before its row is written, with what the
	// front end keeps of every request (the target named by the path, the
	// form or body as the log keeps it): after the handler, or for an
	// attempt refused before the handler ran (refused). nil: the note as
	// the handler left it.
	Describe func(r *http.Request, rt Route, n *Note, refused bool)
}

// Note is what a handler tells its request's audit row: the resource, its
// state before and after the change, and the request as the log keeps it.
// Values are stored as JSON (a json.RawMessage as it is).
type Note struct {
	Target                 string
	Before, After, Request any
}

type noteKey struct{}

// NoteOf returns the audit note of r: a throwaway one outside audited
// routes, so a handler may fill it either way.
func NoteOf(r *http.Request) *Note {
	if n, ok := r.Context().Value(noteKey{}).(*Note); ok {
		return n
	}
	return &Note{}
}

// Audits reports whether rt's requests are written to the audit log: a
// state-changing route not marked NoAudit, with an Auditor.
func (a *Audit) Audits(rt Route) bool {
	return a != nil && a.Auditor != nil && rt.StateChanging() && !rt.NoAudit
}

// Handler writes a row for every request to rt, when rt is audited, once
// next is done; other routes get next as it is.
func (a *Audit) Handler(rt Route, next http.Handler) http.Handler {
	if !a.Audits(rt) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := &Note{}
		r = r.WithContext(context.WithValue(r.Context(), noteKey{}, n))
		sw := NewStatusWriter(w)
		next.ServeHTTP(sw, r)
		a.write(r, rt, n, sw.Status(), false)
	})
}

// refused writes the row of an attempt at rt refused for the caller's role.
func (a *Audit) refused(r *http.Request, rt Route) {
	if a.Audits(rt) {
		a.write(r, rt, &Note{}, http.StatusForbidden, true)
	}
}

func (a *Audit) write(r *http.Request, rt Route, n *Note, status int, refused bool) {
	if a.Describe != nil {
		a.Describe(r, rt, n, refused)
	}
	a.Auditor.Audit(r.Context(), store.AuditEntry{Action: a.Prefix + rt.Pattern(), Target: n.Target, Status: status,
		Before: rawJSON(n.Before), After: rawJSON(n.After), Request: rawJSON(n.Request)})
}

// rawJSON is v as stored JSON: nil for nothing, a json.RawMessage as it is.
func rawJSON(v any) json.RawMessage {
	switch v := v.(type) {
	case nil:
		return nil
	case json.RawMessage:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// StatusWriter remembers the status a handler answered and counts the
// bytes of the body: the first final status written (1xx answers are not
// final; a later WriteHeader is ignored by net/http too), 200 when the
// handler wrote a body without one. The audit and the access log use it.
type StatusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	bytes  int64
}

// NewStatusWriter wraps w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	return &StatusWriter{ResponseWriter: w, status: http.StatusOK}
}

// Status is the status answered so far.
func (w *StatusWriter) Status() int { return w.status }

// Bytes is how many bytes of body were written.
func (w *StatusWriter) Bytes() int64 { return w.bytes }

// WriteHeader records code and writes it.
func (w *StatusWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes b (the status is then final).
func (w *StatusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap gives http.ResponseController the wrapped writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
