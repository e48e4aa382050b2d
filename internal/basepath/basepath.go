// Package basepath serves berth under a path prefix: the path of
// BERTH_BASE_URL, such as /berth for https://ops.example.com/berth/
// (docs/reverse-proxy.md, "Under a sub-path").
//
// berth's handlers know nothing of the prefix: they route, link and
// redirect with root paths (/admin/, /status). Handler is the one place
// that translates. It takes the prefix off the request's path when it is
// there (a proxy that passes /berth/… through) and leaves a path without it
// alone (a proxy that strips it), puts the prefix on root-relative Location
// headers, and records the prefix in the request's context for the few
// places that write an address of their own: the templates' {{base}}
// (package web), the session cookie's Path (package auth) and the OpenAPI
// document's server URL (package api).
package basepath

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// FromURL returns the prefix of a base URL (BERTH_BASE_URL): its path
// without the trailing slash, "" when berth is at the root of its host.
// reserved are the first path segments of berth's own routes ("admin",
// "api", …): a prefix starting with one would be ambiguous, since a path
// without the prefix is served as it is.
func FromURL(base string, reserved []string) (string, error) {
	if base == "" {
		return "", nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("BERTH_BASE_URL=%q: %v", base, err)
	}
	p := strings.TrimRight(u.Path, "/")
	if p == "" {
		return "", nil
	}
	if u.EscapedPath() != u.Path || strings.Contains(u.Path, "%") {
		return "", fmt.Errorf("BERTH_BASE_URL=%q: the path %q needs escaping; use letters, digits, '-', '_', '.' and '/'", base, u.Path)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("BERTH_BASE_URL=%q: the path %q has an empty, '.' or '..' segment", base, u.Path)
		}
	}
	first, _, _ := strings.Cut(p[1:], "/")
	for _, r := range reserved {
		if strings.EqualFold(first, r) {
			return "", fmt.Errorf("BERTH_BASE_URL=%q: the path cannot start with /%s, one of berth's own paths; pick another, such as /berth", base, first)
		}
	}
	return p, nil
}

type ctxKey struct{}

// With records prefix in ctx.
func With(ctx context.Context, prefix string) context.Context {
	return context.WithValue(ctx, ctxKey{}, prefix)
}

// From is the prefix the request was served under: "" at the root (or for a
// request that did not pass through Handler), else "/berth" without a
// trailing slash.
func From(ctx context.Context) string {
	p, _ := ctx.Value(ctxKey{}).(string)
	return p
}

// Path is p (a root path such as /status) under the request's prefix.
func Path(ctx context.Context, p string) string { return From(ctx) + p }

// Strip returns path without prefix, and whether it had it: /berth/admin/
// is /admin/, /berth is /; a path without the prefix is returned as is.
func Strip(prefix, path string) (string, bool) {
	if prefix == "" {
		return path, false
	}
	if path == prefix {
		return "/", true
	}
	if rest, ok := strings.CutPrefix(path, prefix); ok && strings.HasPrefix(rest, "/") {
		return rest, true
	}
	return path, false
}

// Handler serves next under prefix ("" serves next as it is): see the
// package comment.
func Handler(prefix string, next http.Handler) http.Handler {
	if prefix == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.WithContext(With(r.Context(), prefix))
		if p, ok := Strip(prefix, r.URL.Path); ok {
			u := *r.URL
			u.Path = p
			u.RawPath = ""
			if r.URL.RawPath != "" {
				if rp, ok := Strip(prefix, r.URL.RawPath); ok {
					u.RawPath = rp
				}
			}
			r2.URL = &u
		}
		next.ServeHTTP(&locationWriter{ResponseWriter: w, prefix: prefix}, r2)
	})
}

// locationWriter puts the prefix on a root-relative Location header
// (/admin/ → /berth/admin/) as the status is written; an absolute URL or a
// network-path one (//host/…) is left alone.
type locationWriter struct {
	http.ResponseWriter
	prefix string
	wrote  bool
}

func (w *locationWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		h := w.ResponseWriter.Header()
		if loc := h.Get("Location"); strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") {
			h.Set("Location", w.prefix+loc)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *locationWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushes).
func (w *locationWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
