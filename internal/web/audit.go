package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/berthhq/berth/internal/store"
)

// Auditor writes the audit log; auth.Service is one. When the console's
// Authenticator is also an Auditor, every console action (and every refused
// attempt) is written to the same audit log as the API's.
type Auditor interface {
	Audit(ctx context.Context, e store.AuditEntry)
}

// auditNote is what a handler tells the audit row: the resource and its
// state before and after.
type auditNote struct {
	target        string
	before, after any
	request       any
}

type auditNoteKey struct{}

// note returns the audit note of r (a throwaway one outside audited routes).
func note(r *http.Request) *auditNote {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		return n
	}
	return &auditNote{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func rawJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// formRecord is the posted form as the audit log keeps it: no passwords,
// and redeem codes shortened to their hint.
func formRecord(r *http.Request) map[string]any {
	out := map[string]any{}
	for k, vs := range r.PostForm {
		if strings.Contains(k, "password") {
			continue
		}
		if k == "code" {
			vs = hints(vs)
		}
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return out
}

func hints(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if len(v) > 4 {
			v = "…" + v[len(v)-4:]
		}
		out[i] = v
	}
	return out
}

// audited writes an audit row for a state-changing console route once its
// handler is done: who, "METHOD /path/pattern", the target, the status
// answered, and the resource before and after.
func (w *Web) audited(rt Route, next http.Handler) http.Handler {
	if w.auditor == nil || rt.Method == http.MethodGet {
		return next
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n := &auditNote{}
		r = r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, n))
		sw := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		req := n.request
		if req == nil {
			req = formRecord(r)
		}
		w.auditor.Audit(r.Context(), store.AuditEntry{Action: "web: " + rt.Method + " " + rt.Path, Target: n.target,
			Before: rawJSON(n.before), After: rawJSON(n.after), Request: rawJSON(req), Status: sw.status})
	})
}

// auditRefused records an action refused for the caller's role.
func (w *Web) auditRefused(r *http.Request, rt Route) {
	if w.auditor == nil || rt.Method == http.MethodGet {
		return
	}
	r.ParseForm()
	w.auditor.Audit(r.Context(), store.AuditEntry{Action: "web: " + rt.Method + " " + rt.Path, Status: http.StatusForbidden,
		Request: rawJSON(formRecord(r))})
}
