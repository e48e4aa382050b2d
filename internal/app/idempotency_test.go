package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The batch routes take an Idempotency-Key (issue 13): a retry with the
// same key gets the first answer and creates nothing twice; the same key
// on another request is refused; no key is today's behaviour.

// withKey sends a JSON request with the admin token and an
// Idempotency-Key ("" for none).
func withKey(h *apptest.Harness, method, path, key string, body any) apptest.Response {
	h.T.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, h.App.URL+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return apptest.Send(h.T, req)
}

// importWithKey uploads files with the form's fields and an
// Idempotency-Key; each call builds a new multipart body (a new boundary),
// as a client's retry does.
func importWithKey(h *apptest.Harness, key string, fields map[string]string, files []apptest.File) apptest.Response {
	h.T.Helper()
	ct, body := apptest.Multipart(fields, files)
	req, _ := http.NewRequest("POST", h.App.URL+"/api/v1/accounts/batch", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	req.Header.Set("Idempotency-Key", key)
	return apptest.Send(h.T, req)
}

// countItems is the number of items GET path lists.
func countItems(h *apptest.Harness, path string) int {
	h.T.Helper()
	var out struct{ Items []json.RawMessage }
	h.Do("GET", path, nil).MustStatus(h.T, 200).JSON(h.T, &out)
	return len(out.Items)
}

func TestIdempotentCodeBatch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		spec := map[string]any{"count": 3, "group": "vip", "batch": "idem"}
		first := withKey(h, "POST", "/api/v1/codes/batch", "key-1", spec).MustStatus(t, 201)
		var gen struct{ Codes []string }
		first.JSON(t, &gen)
		if len(gen.Codes) != 3 {
			t.Fatalf("generated %s", first.Body)
		}
		if first.Header.Get("Idempotency-Replayed") != "" {
			t.Errorf("first answer marked replayed")
		}

		again := withKey(h, "POST", "/api/v1/codes/batch", "key-1", spec).MustStatus(t, 201)
		if !bytes.Equal(again.Body, first.Body) {
			t.Errorf("retry answered\n%s\nfirst answer\n%s", again.Body, first.Body)
		}
		if again.Header.Get("Idempotency-Replayed") != "true" {
			t.Errorf("retry not marked replayed: %v", again.Header)
		}
		if n := countItems(h, "/api/v1/codes"); n != 3 {
			t.Errorf("%d codes after a retried batch of 3", n)
		}

		// The same key on another request is refused, and creates nothing.
		other := withKey(h, "POST", "/api/v1/codes/batch", "key-1", map[string]any{"count": 4, "group": "vip", "batch": "idem"})
		other.MustStatus(t, http.StatusUnprocessableEntity)
		if !strings.Contains(string(other.Body), "another request") {
			t.Errorf("refusal does not say the key was used: %s", other.Body)
		}
		if n := countItems(h, "/api/v1/codes"); n != 3 {
			t.Errorf("%d codes after a refused request", n)
		}

		// A refused request frees its key: corrected, it runs.
		withKey(h, "POST", "/api/v1/codes/batch", "key-2", map[string]any{"count": 0}).MustStatus(t, 422)
		withKey(h, "POST", "/api/v1/codes/batch", "key-2", map[string]any{"count": 1}).MustStatus(t, 201)

		// Keys are the caller's, per route: no key, today's behaviour.
		withKey(h, "POST", "/api/v1/codes/batch", "", map[string]any{"count": 1}).MustStatus(t, 201)
		withKey(h, "POST", "/api/v1/codes/batch", "", map[string]any{"count": 1}).MustStatus(t, 201)
		if n := countItems(h, "/api/v1/codes"); n != 6 {
			t.Errorf("%d codes, want 3+1+2", n)
		}
		withKey(h, "POST", "/api/v1/codes/batch", strings.Repeat("k", 256), spec).MustStatus(t, 400)

		// The kept answer holds the codes sealed, never in clear.
		var kept int
		rows, err := h.App.Store.DB.QueryContext(context.Background(), `SELECT body FROM idempotency_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var body []byte
			if err := rows.Scan(&body); err != nil {
				t.Fatal(err)
			}
			kept++
			for _, c := range gen.Codes {
				if bytes.Contains(body, []byte(c)) {
					t.Errorf("code %s kept in clear", c)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if kept != 2 {
			t.Errorf("%d kept answers, want 2 (key-1, key-2)", kept)
		}
	})
}

func TestIdempotentAccountBatch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		h.Pool("idem-01", "server", 5, 1)
		files := apptest.Files("idem", 1, 2)
		shop := map[string]string{"script": "shop"}
		first := importWithKey(h, "upload-1", shop, files).MustStatus(t, 200)
		var out struct{ Placed int }
		first.JSON(t, &out)
		if out.Placed != 2 {
			t.Fatalf("placed %d: %s", out.Placed, first.Body)
		}
		again := importWithKey(h, "upload-1", shop, files).MustStatus(t, 200)
		if !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotency-Replayed") != "true" {
			t.Errorf("retry answered (%v)\n%s\nfirst answer\n%s", again.Header, again.Body, first.Body)
		}
		if n := countItems(h, "/api/v1/seats?pool=idem-01"); n != 2 {
			t.Errorf("%d seats after a retried batch of 2", n)
		}
		if n := countItems(h, "/api/v1/accounts"); n != 2 {
			t.Errorf("%d accounts after a retried batch of 2", n)
		}
		// Another file under the same key: refused, nothing placed.
		importWithKey(h, "upload-1", shop, apptest.Files("idem", 1, 3)).MustStatus(t, http.StatusUnprocessableEntity)
		// The same files under other account ids are another request too.
		importWithKey(h, "upload-1", map[string]string{"script": "shop", "ids": "x1,x2"}, files).MustStatus(t, http.StatusUnprocessableEntity)
		if n := countItems(h, "/api/v1/seats?pool=idem-01"); n != 2 {
			t.Errorf("%d seats after refused batches", n)
		}
	})
}

// A known path asked with a method it does not have answers 405 with the
// route table's methods in Allow; an unknown path stays 404.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/api/v1/pools/7", "GET, PATCH"},
		// GET and PATCH /api/v1/codes/{code} match it too.
		{"DELETE", "/api/v1/codes/batch", "GET, POST, PATCH"},
		{"POST", "/api/v1/codes", "GET"},
		{"PUT", "/api/v1/session", "GET, POST, DELETE"},
		{"POST", "/healthz", "GET"},
		{"GET", "/api/v1/seats/3/release", "POST"},
	} {
		r := h.Do(c.method, c.path, nil)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405, Allow %q: %s", c.method, c.path, r.Status, r.Header.Get("Allow"), c.allow, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
		}
	}
	// The console's pages likewise, in its own error page.
	if r := h.DoAuth("PUT", "/login", nil, ""); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT /login: %d, Allow %q; want 405, Allow \"GET, POST\"", r.Status, r.Header.Get("Allow"))
	}
	for _, path := range []string{"/api/v1/nothing", "/api/v1/pools/7/nothing", "/nothing"} {
		if r := h.Do("PUT", path, nil); r.Status != http.StatusNotFound || r.Header.Get("Allow") != "" {
			t.Errorf("PUT %s: %d, Allow %q; want 404 without Allow", path, r.Status, r.Header.Get("Allow"))
		}
	}
}
