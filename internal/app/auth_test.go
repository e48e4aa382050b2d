package app_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
)

// TestAdminRoutesRequireToken walks the whole route table: every non-public
// route answers 401 without a token and with a wrong one.
func TestAdminRoutesRequireToken(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	params := regexp.MustCompile(`\{[^}]+\}`)
	n := 0
	for _, rt := range h.App.API.Routes() {
		path := params.ReplaceAllString(rt.Path, "1")
		for _, token := range []string{"", "wrong-token-wrong-token", apptest.Token + "x"} {
			r := h.DoAuth(rt.Method, path, nil, token)
			if rt.Public {
				if r.Status == http.StatusUnauthorized {
					t.Errorf("public route %s %s refused: %d", rt.Method, rt.Path, r.Status)
				}
				continue
			}
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: status %d, want 401", rt.Method, rt.Path, token, r.Status)
			}
			if r.Header.Get("Content-Type") != "application/problem+json" || r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without problem+json or WWW-Authenticate", rt.Method, rt.Path)
			}
		}
		if !rt.Public {
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d admin routes walked", n)
	}
	// The right token passes.
	h.Do("GET", "/api/v1/pools", nil).MustStatus(t, 200)
}

func TestHealthAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	h.DoAuth("GET", "/healthz", nil, "").MustStatus(t, 200)
	h.DoAuth("GET", "/readyz", nil, "").MustStatus(t, 200)
	r := h.Do("GET", "/api/v1/nope", nil)
	if r.Status != 404 || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown route: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
}
