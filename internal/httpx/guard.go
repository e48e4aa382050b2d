package httpx

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/berthhq/berth/internal/auth"
)

// Guard is the role check of a front end's non-public routes: it finds the
// caller, puts it in the request context (auth.WithUser) and refuses a
// caller whose role is below the route's.
type Guard struct {
	// Authenticate returns the caller of r: a bearer token or the session
	// cookie in the API, the session cookie in the console.
	Authenticate func(r *http.Request) (auth.User, error)
	// Refuse answers a refusal: 401 with Authenticate's error, 403 with a
	// *RoleError.
	Refuse Refuse
	// Audit writes the row of an attempt refused for the caller's role
	// (nil: no rows).
	Audit *Audit
}

// RoleError is the refusal of a caller whose role is below a route's.
type RoleError struct {
	Route Route
	User  auth.User
}

func (e *RoleError) Error() string {
	return fmt.Sprintf("%s %s needs role %s; %s has role %s", e.Route.Method, e.Route.Path, e.Route.Role, e.User.Name, e.User.Role)
}

// ErrCrossSite is the refusal of a cross-site state-changing request
// (CrossOrigin).
var ErrCrossSite = errors.New("cross-site request refused: state-changing requests must come from " +
	"berth's own pages (same origin) or from a client that sends no Origin or Sec-Fetch-Site header")

// Handler admits to next the callers of rt whose role allows rt.Role. A
// refused attempt at an audited route is written to the audit log (status
// 403) before it is answered.
func (g *Guard) Handler(rt Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := g.Authenticate(r)
		if err != nil {
			g.Refuse(w, r, http.StatusUnauthorized, err)
			return
		}
		r = r.WithContext(auth.WithUser(r.Context(), u))
		if !u.Role.Allows(rt.Role) {
			g.Audit.refused(r, rt)
			g.Refuse(w, r, http.StatusForbidden, &RoleError{Route: rt, User: u})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// CrossOrigin is the protection against cross-site requests both front
// ends use: Go's http.CrossOriginProtection, which refuses a non-safe
// request (POST, PUT, PATCH, DELETE) whose Sec-Fetch-Site is not
// same-origin or none, or whose Origin does not match its Host. Requests
// with neither header (curl, scripts with bearer tokens) pass. deny
// answers refused requests (nil: a plain 403).
func CrossOrigin(deny http.Handler) *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	if deny != nil {
		c.SetDenyHandler(deny)
	}
	return c
}
