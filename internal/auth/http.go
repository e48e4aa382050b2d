package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/berthhq/berth/internal/basepath"
	"github.com/berthhq/berth/internal/clientip"
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
	if token := SessionToken(r); token != "" {
		return s.Session(r.Context(), token)
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

// CookieMode says when cookies are marked Secure (BERTH_COOKIE_SECURE).
type CookieMode string

// The cookie modes. CookieAuto (the default) marks cookies Secure when the
// request came over TLS, or through a trusted proxy (BERTH_TRUSTED_PROXIES)
// that says X-Forwarded-Proto: https; CookieAlways always; CookieNever
// never (plain-HTTP tests and demos only).
const (
	CookieAuto   CookieMode = "auto"
	CookieAlways CookieMode = "true"
	CookieNever  CookieMode = "false"
)

// ParseCookieMode reads BERTH_COOKIE_SECURE; empty is CookieAuto.
func ParseCookieMode(s string) (CookieMode, error) {
	switch m := CookieMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return CookieAuto, nil
	case CookieAuto, CookieAlways, CookieNever:
		return m, nil
	}
	return "", fmt.Errorf("BERTH_COOKIE_SECURE=%q: want auto, true or false", s)
}

type secureKey struct{}

// HSTS is the Strict-Transport-Security header sent on secure requests.
const HSTS = "max-age=31536000"

// SecureCookies decides once per request whether it is secure (see
// CookieMode; the forwarded protocol is believed only from a trusted proxy,
// as package clientip resolved it) for Secure and the cookies, and sends
// Strict-Transport-Security on secure requests. Wrap it inside the clientip
// middleware.
func SecureCookies(mode CookieMode, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure := mode == CookieAlways
		if mode == CookieAuto || mode == "" {
			info, _ := clientip.From(r.Context())
			secure = r.TLS != nil || info.HTTPS
		}
		if secure {
			w.Header().Set("Strict-Transport-Security", HSTS)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), secureKey{}, secure)))
	})
}

// Secure reports whether cookies set in answer to r are marked Secure: as
// SecureCookies decided, or, for a request that did not pass through it,
// whether r came over TLS. A client's own X-Forwarded-Proto is never
// believed.
func Secure(r *http.Request) bool {
	if v, ok := r.Context().Value(secureKey{}).(bool); ok {
		return v
	}
	return r.TLS != nil
}

// SecureSessionCookie is the session cookie's name on secure requests: the
// __Host- prefix makes browsers accept it only with Secure, Path=/ and no
// Domain, so no sibling domain or plain-HTTP page can set or shadow it.
const SecureSessionCookie = "__Host-" + SessionCookie

// SubPathSessionCookie is the session cookie's name on secure requests when
// berth is served under a path prefix (BERTH_BASE_URL with a path, package
// basepath): __Host- demands Path=/, which would hand the session to every
// other application on the host and let two berths on one host overwrite
// each other's; __Secure- still demands Secure (no plain-HTTP page can set
// it) and allows Path=/berth. What it gives up: a sibling domain served
// over HTTPS could set one with Domain= (see docs/reverse-proxy.md).
const SubPathSessionCookie = "__Secure-" + SessionCookie

// SessionCookieName is the session cookie's name for r: on a secure
// request SecureSessionCookie, or SubPathSessionCookie under a path
// prefix; SessionCookie otherwise.
func SessionCookieName(r *http.Request) string {
	switch {
	case !Secure(r):
		return SessionCookie
	case basepath.From(r.Context()) != "":
		return SubPathSessionCookie
	}
	return SecureSessionCookie
}

// CookiePath is the Path of berth's cookies for r: /, or the path prefix
// berth is served under (/berth), so the browser sends them to berth only.
func CookiePath(r *http.Request) string {
	if p := basepath.From(r.Context()); p != "" {
		return p
	}
	return "/"
}

// SessionCookieFor is the cookie carrying a session token: HttpOnly,
// SameSite=Lax, Path=/ (or the path prefix, CookiePath), no Domain, Secure
// and named with the __Host- prefix (__Secure- under a path prefix) on
// secure requests, and without Expires, so it ends with the browser; the
// server ends the session itself after SessionIdle without use or 7 days
// after sign-in.
func SessionCookieFor(r *http.Request, token string) *http.Cookie {
	return &http.Cookie{Name: SessionCookieName(r), Value: token, Path: CookiePath(r), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: Secure(r)}
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

// SessionToken returns the session cookie's token, if any. On a secure
// request only the __Host- (under a path prefix __Secure-) cookie counts:
// a plain-named cookie could have been planted over plain HTTP or by a
// sibling domain.
func SessionToken(r *http.Request) string {
	if c, err := r.Cookie(SessionCookieName(r)); err == nil {
		return c.Value
	}
	return ""
}

// RemoteIP is the client address of r: the host of RemoteAddr, which the
// clientip middleware (internal/clientip) has set to the client behind a
// trusted proxy. A client's own forwarded headers are never believed (it
// could pick its own address to escape the sign-in limit).
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
