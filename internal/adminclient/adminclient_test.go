package adminclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
			_, _ = w.Write(b)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/problem":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"title":"Conflict","detail":"pool p1 is draining"}`)
		default:
			http.Error(w, "<html>no</html>", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &Client{Base: srv.URL, Token: "tok", HTTP: srv.Client()}

	var out struct{ N int }
	if err := c.JSON(ctx, "POST", "/echo", map[string]int{"n": 7}, &out); err != nil || out.N != 7 {
		t.Fatalf("JSON echo: %+v, %v", out, err)
	}
	out.N = 3
	if err := c.JSON(ctx, "DELETE", "/empty", nil, &out); err != nil || out.N != 3 {
		t.Fatalf("an empty answer: %+v, %v; want out left alone", out, err)
	}
	var raw bytes.Buffer
	if err := c.Do(ctx, "POST", "/echo", "text/csv", strings.NewReader("a,b\n"), Raw{W: &raw}); err != nil || raw.String() != "a,b\n" {
		t.Fatalf("raw: %q, %v", raw.String(), err)
	}

	var se *StatusError
	err := c.Do(ctx, "GET", "/problem", "", nil, &out)
	if !errors.As(err, &se) || err.Error() != "Conflict: pool p1 is draining" {
		t.Fatalf("problem answer: %v", err)
	}
	err = c.Do(ctx, "GET", "/nowhere", "", nil, &out)
	if !errors.As(err, &se) || err.Error() != "server answered 404 Not Found" || strings.Contains(err.Error(), "html") {
		t.Fatalf("answer without a problem: %v", err)
	}
	bad := &Client{Base: srv.URL, Token: "wrong", HTTP: srv.Client()}
	if err := bad.Do(ctx, "GET", "/echo", "", nil, nil); !errors.As(err, &se) || se.Status != "401 Unauthorized" {
		t.Fatalf("wrong token: %v", err)
	}

	srv.Close()
	var ue *UnreachableError
	err = c.Do(ctx, "GET", "/echo", "", nil, nil)
	if !errors.As(err, &ue) || ue.Base != srv.URL || !strings.HasPrefix(err.Error(), "cannot reach berth at "+srv.URL+": ") {
		t.Fatalf("server gone: %v", err)
	}
}
