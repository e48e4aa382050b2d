package api

// Who may call what, protection against cross-site requests, and the audit
// log of every change.
//
// Every route is wrapped by wrap, from the layer both front ends share
// (package httpx: the route entry, Guard, Audit, Limiter, CrossOrigin);
// what is the API's own is how a refusal is answered (refuse:
// problem+json), the body types, and what an audit row keeps:
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
//  5. The public routes under /api/v1/public (Limited) count against the
//     per-address limit (SetPublicRate): over it, 429 with Retry-After
//     before the handler reads anything.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/httpx/decode"
	"github.com/berthhq/berth/internal/model"
)

func (s *Server) wrap(rt Route) http.Handler {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeHTTP (and the audit, on audited routes) already counts what
		// is written: reuse that writer rather than wrap a third time.
		sw, ok := w.(*httpx.StatusWriter)
		if !ok {
			sw = httpx.NewStatusWriter(w)
		}
		if err := rt.handler(sw, r); err != nil {
			if sw.Bytes() > 0 {
				answerCutShort(r, rt, err)
				return
			}
			writeProblem(sw, r, err)
		}
	})
	if rt.Limited {
		h = s.public.Handler(refuse, h)
	}
	h = checkBodyType(rt, h)
	if !rt.Public {
		h = s.guard.Handler(rt.Route, s.guard.Audit.Handler(rt.Route, s.snapshotted(rt, h)))
	}
	if rt.StateChanging() {
		h = s.cop.Handler(h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(auth.WithRemoteIP(r.Context(), auth.RemoteIP(r))))
	})
}

// answerCutShort handles an error a handler returns after part of its
// answer is on the wire (a streamed CSV export, writeCSV): a problem+json
// can no longer replace it, and one written after the body would end the
// answer as if whole. The error is logged; a reading route's answer is
// then aborted (http.ErrAbortHandler, which ServeHTTP lets through to
// net/http): the connection is cut, so the client sees a broken transfer
// rather than a complete-looking file with rows missing. A change's answer
// is left as written, so its audit row is still written.
func answerCutShort(r *http.Request, rt Route, err error) {
	level := slog.LevelError
	if r.Context().Err() != nil {
		level = slog.LevelWarn // the client went away
	}
	// The route's pattern, not the path: paths may hold codes.
	logOf(r).Log(r.Context(), level, "answer cut short", "method", r.Method, "path", r.Pattern, "request_id", requestID(r), "err", err)
	if !rt.StateChanging() {
		panic(http.ErrAbortHandler)
	}
}

// refuse answers what the shared layer (httpx) refused, as problem+json: a
// request without a usable caller (401 with WWW-Authenticate), a role too
// low, a cross-site request, one over the public limit.
func refuse(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status != http.StatusUnauthorized {
		writeProblem(w, r, errStatus(status, err.Error()))
		return
	}
	if !isAuthFailure(err) {
		writeProblem(w, r, err)
		return
	}
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

// describeAudit completes an API audit row: the target is the request's path
// values; a refused attempt keeps its (redacted) JSON body.
func describeAudit(r *http.Request, rt httpx.Route, n *httpx.Note, refused bool) {
	n.Target = pathTarget(r, rt.Path)
	if refused {
		n.Request = auth.Redact(bufferJSONBody(r))
	}
}

// snapshotted fills the audit note of an audited route's request. Routes on
// one resource (snapshots) keep the resource as it was before and after
// the change and the request under request; the others keep the request as
// after. The request is the handler's note (noteAudit), the (redacted)
// JSON body, or the body's type and size.
func (s *Server) snapshotted(rt Route, next http.Handler) http.Handler {
	if !s.guard.Audit.Audits(rt.Route) {
		return next
	}
	snap := s.snapshots()[rt.Pattern()]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := bufferJSONBody(r)
		var before any
		if snap != nil {
			before = snap(r, body)
		}
		next.ServeHTTP(w, r)
		n := httpx.NoteOf(r)
		req := requestRecord(r, body, n.Request)
		if snap != nil {
			n.Before, n.After, n.Request = auth.RedactValue(before), auth.RedactValue(snap(r, body)), req
		} else {
			n.After, n.Request = req, nil
		}
	})
}

// bufferJSONBody reads a JSON (or untyped) body of at most maxJSONBody+1
// bytes for the audit row and the snapshots, and puts it back for the
// handler. Other bodies (multipart uploads) are left alone: nil. It decides
// no role: handlers do, on what they decoded (needRole).
func bufferJSONBody(r *http.Request) []byte {
	if r.Body == nil || r.Body == http.NoBody || !decode.IsJSONType(r.Header.Get("Content-Type")) {
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

// noteAudit records what a request did, for its audit row, when the body
// cannot be stored as is (a multipart upload).
func noteAudit(r *http.Request, v any) { httpx.NoteOf(r).Request = v }

// requestRecord is what an audit row keeps of the request: the handler's
// note, the (redacted) JSON body, or the body's type and size.
func requestRecord(r *http.Request, body []byte, noted any) json.RawMessage {
	if noted != nil {
		return auth.RedactValue(noted)
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

// hasBody reports whether a request carries a body (of known or unknown
// length).
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// checkBodyType refuses, with 415, a body of a type the route does not
// read: JSON on every state-changing route but the multipart import, which
// takes multipart/form-data. A form-encoded or text/plain JSON body is
// refused rather than read: what a browser form can send is never acted on.
func checkBodyType(rt Route, next http.Handler) http.Handler {
	if !rt.StateChanging() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := bodyTypeError(rt, r); err != nil {
			writeProblem(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func bodyTypeError(rt Route, r *http.Request) error {
	if !hasBody(r) {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if rt.multipart {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && (mt == "multipart/form-data" || mt == "multipart/mixed") {
			return nil
		}
		return errStatus(http.StatusUnsupportedMediaType, fmt.Sprintf("%s %s takes the files as multipart/form-data: "+
			"send Content-Type: multipart/form-data; boundary=… (got %s)", rt.Method, rt.Path, decode.QuoteType(ct)))
	}
	if decode.IsJSONType(ct) {
		return nil
	}
	return errStatus(http.StatusUnsupportedMediaType, fmt.Sprintf("%s %s takes a JSON body: send Content-Type: application/json (got %s)",
		rt.Method, rt.Path, decode.QuoteType(ct)))
}

// snapshot returns a resource as the API shows it (secrets already hidden),
// or nil when it cannot be read.
type snapshot func(r *http.Request, body []byte) any

// snapshots are the routes on one resource (or a list of them) and how to
// read it before and after the change.
func (s *Server) snapshots() map[string]snapshot {
	pool := byID(s.poolSnapshot)
	seat := byID(func(r *http.Request, id int64) (model.Seat, error) { return s.rd.SeatGet(r.Context(), id) })
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
				if v, err := s.poolSnapshot(r, id); err == nil {
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
		"PATCH /api/v1/users/{id}": byID(func(r *http.Request, id int64) (auth.UserInfo, error) { return s.auth.GetUser(r.Context(), id) }),
	}
}

// byID is the snapshot of the resource named by the path's {id}, read by
// get: nil when it cannot be read.
func byID[T any](get func(r *http.Request, id int64) (T, error)) snapshot {
	return func(r *http.Request, _ []byte) any {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return nil
		}
		v, err := get(r, id)
		if err != nil {
			return nil
		}
		return v
	}
}

// poolSnapshot is a pool as the API shows it, settings' secrets hidden.
func (s *Server) poolSnapshot(r *http.Request, id int64) (PoolView, error) {
	p, err := s.rd.PoolGet(r.Context(), id)
	if err != nil {
		return PoolView{}, err
	}
	return s.poolView(r, p, false)
}
