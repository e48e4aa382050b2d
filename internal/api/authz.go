package api

// Who may call what, protection against cross-site requests, and the audit
// log of every change.
//
// Every route is wrapped by wrap:
//
//  1. State-changing routes (every method but GET, HEAD, OPTIONS), public or
//     not, go through Go's http.CrossOriginProtection: a browser request
//     from another site (Sec-Fetch-Site: cross-site, or an Origin that is
//     not this host) is refused with 403 before anything else happens.
//     Clients that send neither header (curl, scripts) pass.
//  2. Non-public routes need a caller (auth.Service.Authenticate): a bearer
//     token — the bootstrap admin token or a personal API token — or else
//     the session cookie. No caller: 401 with WWW-Authenticate. A caller
//     whose role is below the route's Role: 403 naming the role needed. The
//     caller goes in the request context (auth.WithUser), where actor()
//     reads it. A handler whose decoded body asks for more (a pool's
//     provider settings need admin) checks that itself with needRole, on
//     the very value it acts on.
//  3. A body of a type the route does not read is refused with 415 before
//     the handler runs (checkBodyType): JSON routes take application/json
//     (any +json type, or no Content-Type), the import takes
//     multipart/form-data. The role check and the handler can then never
//     read one body two ways.
//  4. Non-public state-changing routes write an audit row once the handler
//     is done: actor, "METHOD /route/{pattern}", the path values, the HTTP
//     status, and before/after. Routes on one resource (snapshots below)
//     store the resource as it was before and after, and the request body
//     under request; the others store the request body as after. Every JSON
//     stored is redacted (auth.Redact): password, token, secret,
//     private_key, known_hosts and their like read "(redacted)". Refused
//     (403) attempts are audited too.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/store"
)

func (s *Server) wrap(rt Route) http.Handler {
	h := rt.handler
	var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkBodyType(rt, r); err != nil {
			writeProblem(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			writeProblem(w, r, err)
		}
	})
	if !rt.Public {
		handler = s.guard(rt, handler)
	}
	if rt.StateChanging() {
		handler = s.cop.Handler(handler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r.WithContext(auth.WithRemoteIP(r.Context(), auth.RemoteIP(r))))
	})
}

// unauthorized answers 401 for a request without a usable caller.
func unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
	detail := "sign in (POST /api/v1/session, or the console) or send Authorization: Bearer <token>: a personal API token " +
		"(POST /api/v1/tokens) or the admin token (printed at first start, or BERTH_ADMIN_TOKEN)"
	if !errors.Is(err, auth.ErrNoCredentials) {
		detail = err.Error()
	}
	writeProblem(w, r, errStatus(http.StatusUnauthorized, detail))
}

func isAuthFailure(err error) bool {
	return errors.Is(err, auth.ErrNoCredentials) || errors.Is(err, auth.ErrBadToken) || errors.Is(err, auth.ErrNoSession) ||
		errors.Is(err, auth.ErrBadCredentials)
}

// guard authenticates, authorizes and audits a non-public route.
func (s *Server) guard(rt Route, next http.Handler) http.Handler {
	key := routeKey(rt.Method, rt.Path)
	audit := rt.StateChanging() && !rt.noAudit
	snap := s.snapshots()[key]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.auth.Authenticate(r)
		if err != nil {
			if isAuthFailure(err) {
				unauthorized(w, r, err)
			} else {
				writeProblem(w, r, err)
			}
			return
		}
		ctx := auth.WithUser(r.Context(), u)
		r = r.WithContext(ctx)

		var body []byte
		if rt.StateChanging() {
			body = bufferJSONBody(r)
		}
		if need := rt.Role; !u.Role.Allows(need) {
			if audit {
				s.auth.Audit(ctx, store.AuditEntry{Action: key, Target: pathTarget(r, rt.Path), Status: http.StatusForbidden,
					Request: auth.Redact(body)})
			}
			writeProblem(w, r, errStatus(http.StatusForbidden, fmt.Sprintf("%s %s needs role %s; %s has role %s",
				rt.Method, rt.Path, need, u.Name, u.Role)))
			return
		}
		if !audit {
			next.ServeHTTP(w, r)
			return
		}

		note := &auditNote{}
		r = r.WithContext(context.WithValue(ctx, auditNoteKey{}, note))
		var before any
		if snap != nil {
			before = snap(r, body)
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)

		e := store.AuditEntry{Action: key, Target: pathTarget(r, rt.Path), Status: sw.status}
		req := requestRecord(r, body, note)
		if snap != nil {
			e.Before = auth.RedactValue(before)
			e.After = auth.RedactValue(snap(r, body))
			e.Request = req
		} else {
			e.After = req
		}
		s.auth.Audit(ctx, e)
	})
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bufferJSONBody reads a JSON (or untyped) body of at most maxJSONBody+1
// bytes for the audit row and the snapshots, and puts it back for the
// handler. Other bodies (multipart uploads) are left alone: nil. It decides
// no role: handlers do, on what they decoded (needRole).
func bufferJSONBody(r *http.Request) []byte {
	if r.Body == nil || r.Body == http.NoBody || !isJSONType(r.Header.Get("Content-Type")) {
		return nil
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), rest), rest}
	if err != nil {
		return nil
	}
	return buf
}

// auditNote lets a handler describe a request whose body is not kept (a
// multipart upload) for its audit row.
type auditNote struct {
	mu sync.Mutex
	v  any
}

type auditNoteKey struct{}

// noteAudit records what a request did, for its audit row, when the body
// cannot be stored as is.
func noteAudit(r *http.Request, v any) {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		n.mu.Lock()
		n.v = v
		n.mu.Unlock()
	}
}

// requestRecord is what an audit row keeps of the request: the handler's
// note, the (redacted) JSON body, or the body's type and size.
func requestRecord(r *http.Request, body []byte, note *auditNote) json.RawMessage {
	note.mu.Lock()
	v := note.v
	note.mu.Unlock()
	if v != nil {
		return auth.RedactValue(v)
	}
	switch {
	case len(body) > maxJSONBody:
		return auth.RedactValue(map[string]any{"bytes": len(body), "note": "body larger than 1 MiB; not kept"})
	case len(body) > 0:
		return auth.Redact(body)
	case r.ContentLength > 0 || r.Header.Get("Content-Type") != "":
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return auth.RedactValue(map[string]any{"content_type": ct, "bytes": r.ContentLength})
	}
	return nil
}

var pathParams = regexp.MustCompile(`\{([^}]+)\}`)

// pathTarget names the resource of a request by its path values: "id=3",
// "kind=server member=639277333688".
func pathTarget(r *http.Request, pattern string) string {
	var parts []string
	for _, m := range pathParams.FindAllStringSubmatch(pattern, -1) {
		parts = append(parts, m[1]+"="+r.PathValue(m[1]))
	}
	return strings.Join(parts, " ")
}

// needRole is the role check a handler makes on the body it decoded, when
// what it is asked to do needs more than the route's role (Route.bodyRole).
// what says why, e.g. "to change provider settings".
func needRole(r *http.Request, need auth.Role, what string) error {
	u, _ := auth.FromContext(r.Context())
	if u.Role.Allows(need) {
		return nil
	}
	return errStatus(http.StatusForbidden, fmt.Sprintf("%s needs role %s %s; %s has role %s", r.Pattern, need, what, u.Name, u.Role))
}

// isJSONType reports whether a Content-Type header names JSON:
// application/json or any +json type, parameters allowed. A missing header
// counts as JSON (scripts that send none); anything else does not.
func isJSONType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// hasBody reports whether a request carries a body (of known or unknown
// length).
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// checkBodyType refuses, with 415, a body of a type the route does not
// read: JSON on every state-changing route but the multipart import, which
// takes multipart/form-data. A form-encoded or text/plain JSON body is
// refused rather than read: what a browser form can send is never acted on.
func checkBodyType(rt Route, r *http.Request) error {
	if !rt.StateChanging() || !hasBody(r) {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if rt.multipart {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && (mt == "multipart/form-data" || mt == "multipart/mixed") {
			return nil
		}
		return errStatus(http.StatusUnsupportedMediaType, fmt.Sprintf("%s %s takes the files as multipart/form-data: "+
			"send Content-Type: multipart/form-data; boundary=… (got %s)", rt.Method, rt.Path, quoteType(ct)))
	}
	if isJSONType(ct) {
		return nil
	}
	return errStatus(http.StatusUnsupportedMediaType, fmt.Sprintf("%s %s takes a JSON body: send Content-Type: application/json (got %s)",
		rt.Method, rt.Path, quoteType(ct)))
}

// quoteType quotes a Content-Type header for an error message, cut short.
func quoteType(ct string) string {
	if len(ct) > 80 {
		ct = ct[:80] + "…"
	}
	return strconv.Quote(ct)
}

// snapshot returns a resource as the API shows it (secrets already hidden),
// or nil when it cannot be read.
type snapshot func(r *http.Request, body []byte) any

// snapshots are the routes on one resource (or a list of them) and how to
// read it before and after the change.
func (s *Server) snapshots() map[string]snapshot {
	pool := func(r *http.Request, _ []byte) any {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return nil
		}
		return s.poolSnapshot(r, id)
	}
	seat := func(r *http.Request, _ []byte) any {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return nil
		}
		st, err := s.rd.SeatGet(r.Context(), id)
		if err != nil {
			return nil
		}
		return st
	}
	return map[string]snapshot{
		"PATCH /api/v1/pools/{id}":        pool,
		"POST /api/v1/pools/{id}/drain":   pool,
		"POST /api/v1/seats/{id}/release": seat,
		"POST /api/v1/seats/{id}/move":    seat,
		"PATCH /api/v1/pools/status": func(r *http.Request, body []byte) any {
			var in StatusRequest
			if json.Unmarshal(body, &in) != nil || len(in.IDs) == 0 || len(in.IDs) > 1000 {
				return nil
			}
			out := make([]any, 0, len(in.IDs))
			for _, id := range in.IDs {
				if v := s.poolSnapshot(r, id); v != nil {
					out = append(out, v)
				}
			}
			return out
		},
		"PATCH /api/v1/codes/{code}": func(r *http.Request, _ []byte) any {
			norm, err := codes.Normalize(r.PathValue("code"))
			if err != nil {
				return nil
			}
			c, err := s.rd.CodeByLookup(r.Context(), norm, false)
			if err != nil {
				return nil
			}
			return c
		},
		"PATCH /api/v1/users/{id}": func(r *http.Request, _ []byte) any {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil {
				return nil
			}
			u, err := s.auth.GetUser(r.Context(), id)
			if err != nil {
				return nil
			}
			return u
		},
	}
}

func (s *Server) poolSnapshot(r *http.Request, id int64) any {
	p, err := s.rd.PoolGet(r.Context(), id)
	if err != nil {
		return nil
	}
	v, err := s.poolView(r, p, false)
	if err != nil {
		return nil
	}
	return v
}
