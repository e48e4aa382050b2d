package auth

import (
	"context"
	"net"
	"net/http"
	"strings"
)

// Helpers shared by the API and the web console so both set the same cookie
// and read callers the same way.

// Authenticate returns the caller of r: a bearer token (the admin token or a
// personal API token) when an Authorization header is present — a bad one
// is refused even if a session cookie is also sent — otherwise the session
// cookie. ErrNoCredentials when the request carries neither.
func (s *Service) Authenticate(r *http.Request) (User, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := BearerToken(r)
		if !ok {
			return User{}, ErrBadToken
		}
		return s.TokenUser(r.Context(), token)
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return s.Session(r.Context(), c.Value)
	}
	return User{}, ErrNoCredentials
}

// BearerToken returns the token of an "Authorization: Bearer …" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// Secure reports whether r reached berth over TLS, directly or through a
// proxy that says so (X-Forwarded-Proto: https). Session cookies are marked
// Secure then.
func Secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// SessionCookieFor is the cookie carrying a session token: HttpOnly,
// SameSite=Lax, Path=/, Secure behind TLS, and without Expires, so it ends
// with the browser; the server ends the session itself after SessionIdle
// without use or 7 days after sign-in.
func SessionCookieFor(r *http.Request, token string) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: Secure(r)}
}

// SetSessionCookie sets the session cookie after Login.
func SetSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, SessionCookieFor(r, token))
}

// ClearSessionCookie removes the session cookie (after Logout).
func ClearSessionCookie(w http.ResponseWriter, r *http.Request) {
	c := SessionCookieFor(r, "")
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// SessionToken returns the session cookie's token, if any.
func SessionToken(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// RemoteIP is the client address of r: the host of RemoteAddr. Forwarded
// headers are not trusted (a client could pick its own address to escape
// the sign-in limit).
func RemoteIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

type ipKey struct{}

// WithRemoteIP returns ctx carrying the client address, for audit rows
// written deeper down.
func WithRemoteIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

func remoteIPFrom(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}

// NewCrossOriginProtection is the protection against cross-site requests
// both the API and the console use: Go's http.CrossOriginProtection, which
// refuses a non-safe request (POST, PUT, PATCH, DELETE) whose Sec-Fetch-Site
// is not same-origin or none, or whose Origin does not match its Host.
// Requests with neither header (curl, scripts with bearer tokens) pass.
// deny answers refused requests (nil: a plain 403).
func NewCrossOriginProtection(deny http.Handler) *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	if deny != nil {
		c.SetDenyHandler(deny)
	}
	return c
}
