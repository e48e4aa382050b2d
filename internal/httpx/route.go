package httpx

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/auth"
)

// Route is one entry of a front end's route table: what the shared layer
// needs to know of a route. A front end's own route type embeds it and adds
// its handler (and, in the API, what its documents say).
type Route struct {
	Method, Path string
	// Public routes need no caller; every other route needs a caller with
	// at least Role (Guard).
	Public bool
	Role   auth.Role
	// NoAudit: the handler writes its own audit row (Audit writes none).
	NoAudit bool
	// Limited routes count against the front end's per-address limit
	// (Limiter): the public forms and routes anyone may call.
	Limited bool
}

// Entry returns the route itself; a front end's route type has it through
// embedding, so Mount can read any table.
func (rt Route) Entry() Route { return rt }

// Pattern is the route's ServeMux pattern, "METHOD /path/{name}": the
// action of its audit rows, too.
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// StateChanging reports whether the route's method may change state (every
// method but GET, HEAD and OPTIONS). Such routes are protected against
// cross-site requests, and audited when they are not public.
func (rt Route) StateChanging() bool {
	switch rt.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// Entry is an entry of a route table: a front end's route type embedding
// Route.
type Entry interface{ Entry() Route }

// Mount registers every route of table on mux at its pattern, served by
// what serve builds for it (the handler with its middleware). A route that
// is neither public nor given a valid role is a mistake in the table: Mount
// panics rather than serve it open or closed by accident.
func Mount[E Entry](mux *http.ServeMux, table []E, serve func(E) http.Handler) {
	for _, e := range table {
		rt := e.Entry()
		if !rt.Public && !rt.Role.Valid() {
			panic(fmt.Sprintf("httpx: route %s is not public and has no valid role (%q)", rt.Pattern(), rt.Role))
		}
		mux.Handle(rt.Pattern(), serve(e))
	}
}

// Allowed returns the methods of table's routes whose pattern on mux
// matches r's path, in table order; none when no route has that path. A
// front end's catch-all handler calls it to tell a known path asked with
// the wrong method (405 with an Allow header) from an unknown path (404):
// ServeMux answers 405 itself only when no catch-all pattern matches. The
// methods come from the table, so a GET route's HEAD is not listed.
func Allowed[E Entry](mux *http.ServeMux, table []E, r *http.Request) []string {
	var out []string
	for _, e := range table {
		m := e.Entry().Method
		if m == r.Method || slices.Contains(out, m) {
			continue
		}
		probe := new(http.Request)
		*probe = *r
		probe.Method = m
		if _, pattern := mux.Handler(probe); strings.HasPrefix(pattern, m+" ") {
			out = append(out, m)
		}
	}
	return out
}

// Refuse answers a request the shared layer refused, in a front end's own
// way (problem+json in the API, a page or a redirect in the console):
// status 401 with the error of the authentication (no caller), 403 with a
// *RoleError (the caller's role is too low) or ErrCrossSite, 429 with
// ErrTooManyRequests (after Retry-After is set).
type Refuse func(w http.ResponseWriter, r *http.Request, status int, err error)

// With is a handler that refuses every request with status and err: the
// deny handler of CrossOrigin, for one.
func (f Refuse) With(status int, err error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(w, r, status, err) })
}
