package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Concurrent requests with one Idempotency-Key run the work once: the
// others get the first answer or 409 while it runs; a key held by a
// request that never answered stays 409.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	const adminToken = "test-admin-token-0123456789"
	st := storetest.Open(t, store.SQLite)
	s := New(alloc.New(st, nil, nil), auth.New(auth.Config{Store: st, AdminTokenHash: sha256.Sum256([]byte(adminToken))}), nil)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	send := func(key string, spec codebook.Spec) (int, http.Header, []byte) {
		t.Helper()
		data, _ := json.Marshal(spec)
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/codes/batch", bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	count := func() int {
		t.Helper()
		items, err := st.CodeList(context.Background(), store.CodeFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(items)
	}

	spec := codebook.Spec{Count: 5, Batch: "race"}
	const n = 8
	status := make([]int, n)
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i], _, bodies[i] = send("race-1", spec)
		}()
	}
	wg.Wait()
	var first []byte
	for i := range n {
		switch status[i] {
		case http.StatusCreated:
			if first == nil {
				first = bodies[i]
			} else if !bytes.Equal(first, bodies[i]) {
				t.Errorf("two different answers under one key:\n%s\n%s", first, bodies[i])
			}
		case http.StatusConflict:
		default:
			t.Errorf("request %d: %d %s", i, status[i], bodies[i])
		}
	}
	if first == nil {
		t.Fatal("no request answered 201")
	}
	if got := count(); got != spec.Count {
		t.Errorf("%d codes after %d requests under one key, want %d", got, n, spec.Count)
	}

	// A key held by a request that did not answer (a server that
	// stopped): the retry is refused, never run.
	var caller string
	if err := st.DB.QueryRow(`SELECT caller FROM idempotency_keys`).Scan(&caller); err != nil {
		t.Fatal(err)
	}
	held := codebook.Spec{Count: 2, Batch: "held"}
	data, _ := json.Marshal(held)
	if _, ok, err := st.IdemBegin(context.Background(), caller, "POST /api/v1/codes/batch", "held-1", requestHash(data)); err != nil || !ok {
		t.Fatalf("hold the key: %v %v", ok, err)
	}
	code, h, body := send("held-1", held)
	if code != http.StatusConflict || h.Get("Retry-After") == "" {
		t.Errorf("retry of a running request: %d, Retry-After %q: %s", code, h.Get("Retry-After"), body)
	}
	if got := count(); got != spec.Count {
		t.Errorf("%d codes after a refused retry, want %d", got, spec.Count)
	}
}
