// Package auth knows who is calling: admin users with passwords (argon2id),
// browser sessions, personal API tokens, and the roles that decide what each
// may do. The HTTP layers (api, web) put the caller in the request context
// with WithUser and read it with FromContext.
package auth

import (
	"context"
	"fmt"
)

// Role is what a user may do.
type Role string

const (
	// RoleViewer reads everything but secrets and users.
	RoleViewer Role = "viewer"
	// RoleOperator does everything but manage users and provider secrets.
	RoleOperator Role = "operator"
	// RoleAdmin does everything.
	RoleAdmin Role = "admin"
)

// Roles lists the roles from least to most powerful.
func Roles() []Role { return []Role{RoleViewer, RoleOperator, RoleAdmin} }

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a caller with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() && r.Valid() }

// ParseRole validates a role given by a user.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("role %q: use viewer, operator or admin", s)
	}
	return r, nil
}

// User is an authenticated caller.
type User struct {
	ID   int64  `json:"id"`
	Name string `json:"username"`
	Role Role   `json:"role"`
	// Via says how the caller authenticated: "session", "token" (personal
	// API token) or "admin-token" (the bootstrap BERTH_ADMIN_TOKEN).
	Via string `json:"via"`
}

type ctxKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// FromContext returns the caller, if any.
func FromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(ctxKey{}).(User)
	return u, ok
}

// Actor names the caller for history and audit ("alice", "admin-token").
func Actor(ctx context.Context) string {
	if u, ok := FromContext(ctx); ok {
		return u.Name
	}
	return "anonymous"
}

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "berth_session"

// Authenticator signs users in and out and resolves sessions. The web
// console's sign-in page and the API's middleware both use it.
type Authenticator interface {
	// Login checks a password (rate limited per address, with lockout) and
	// opens a session; token goes into SessionCookie.
	Login(ctx context.Context, username, password, remoteIP string) (token string, u User, err error)
	// Logout ends a session.
	Logout(ctx context.Context, token string) error
	// Session returns the user of a live session token.
	Session(ctx context.Context, token string) (User, error)
}
