package app_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/upload"
)

// TestBatchUglyInput: bad items are rejected one by one with a clear error;
// the rest of the batch is placed; nothing lands on a server under a bad name.
func TestBatchUglyInput(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	h.App.API.Limits.MaxFileBytes = 1024
	h.Pool("worker-01", "server", 50, 0)
	files := []apptest.File{
		{Name: "good1.session", Data: []byte("ok")},
		{Name: "../../etc/passwd", Data: []byte("x")},
		{Name: "..\\evil.session", Data: []byte("x")},
		{Name: "", Data: []byte("x")},
		{Name: "empty.session", Data: nil},
		{Name: "big.session", Data: bytes.Repeat([]byte("x"), 1025)},
		{Name: "good1.session", Data: []byte("again")},
		{Name: ".hidden", Data: []byte("x")},
		{Name: "sub/dir.session", Data: []byte("x")},
		{Name: "good2.session", Data: []byte("ok2")},
	}
	items := h.Import("A", files)
	wantErr := []string{"", "path traversal", "path traversal", "empty", "empty", "larger than the 1 KiB limit", "duplicate: account good1 is also file #1", "starts with a dot", "path traversal", ""}
	for i, it := range items {
		if wantErr[i] == "" {
			if it.Status != "placed" {
				t.Errorf("item %d (%s): %+v", i, files[i].Name, it)
			}
			continue
		}
		if it.Status != "rejected" || !strings.Contains(it.Error, wantErr[i]) {
			t.Errorf("item %d (%q): status %s error %q, want rejected with %q", i, files[i].Name, it.Status, it.Error, wantErr[i])
		}
	}
	waitDelivered(t, h, items)
	if got := h.Sims.Get("worker-01").Keys(); len(got) != 2 {
		t.Fatalf("server holds %v, want only the two good files", got)
	}
	// The duplicate did not overwrite the first file's content.
	if data, _ := h.Sims.Get("worker-01").File("good1.session"); string(data) != "ok" {
		t.Fatalf("good1 content %q", data)
	}
	// Importing again returns the placement, places nothing twice.
	again := h.Import("A", []apptest.File{{Name: "good1.session", Data: []byte("ok")}})
	if again[0].Status != "placed" || again[0].Pool != "worker-01" || !strings.Contains(again[0].Reason, "already imported") {
		t.Fatalf("re-import: %+v", again[0])
	}
	var pools struct{ Items []struct{ Used int } }
	h.Do("GET", "/api/v1/pools", nil).JSON(t, &pools)
	if pools.Items[0].Used != 2 {
		t.Fatalf("used %d after re-import, want 2", pools.Items[0].Used)
	}
}

func TestBatchRequestErrors(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {})
	h.App.API.Limits = upload.Limits{MaxFileBytes: 1 << 20, MaxFiles: 3, MaxTotalBytes: 4096}
	h.Pool("worker-01", "server", 5, 0)
	cases := []struct {
		name   string
		fields map[string]string
		files  []apptest.File
		status int
		detail string
	}{
		{"no script", map[string]string{}, apptest.Files("a", 1, 1), 422, "script is required"},
		{"no files", map[string]string{"script": "A"}, nil, 422, "no files"},
		{"too many files", map[string]string{"script": "A"}, apptest.Files("a", 1, 4), 413, "more than 3 files"},
		{"body too large", map[string]string{"script": "A"}, []apptest.File{{Name: "a.session", Data: bytes.Repeat([]byte("x"), 5000)}}, 413, "larger than 4 KiB"},
		{"bad strategy", map[string]string{"script": "A", "strategy": "random"}, apptest.Files("a", 1, 1), 422, "strategy"},
		{"ids count mismatch", map[string]string{"script": "A", "ids": "x1,x2"}, apptest.Files("a", 1, 1), 422, "ids names 2 accounts but 1 files"},
	}
	for _, c := range cases {
		r := h.ImportRaw(c.fields, c.files)
		if r.Status != c.status || !strings.Contains(string(r.Body), c.detail) || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	// Not multipart at all: 415, saying what to send.
	r := h.Do("POST", "/api/v1/accounts/batch", map[string]string{"script": "A"})
	if r.Status != 415 || !strings.Contains(string(r.Body), "multipart/form-data") {
		t.Errorf("json body: %d %s", r.Status, r.Body)
	}
	// ids override file names.
	items := h.Import("A", []apptest.File{{Name: "whatever.bin", Data: []byte("1")}})
	if items[0].Account != "whatever" {
		t.Fatalf("account from file name: %+v", items[0])
	}
	r = h.ImportRaw(map[string]string{"script": "A", "ids": "639277333688"}, []apptest.File{{Name: "x.session", Data: []byte("1")}})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"account": "639277333688"`) {
		t.Fatalf("ids field: %d %s", r.Status, r.Body)
	}
}

func TestPoolValidation(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	id := h.Pool("worker-01", "server", 5, 0)
	cases := []struct {
		body   any
		status int
		detail string
	}{
		{map[string]any{"name": "worker-01", "kind": "server", "capacity": 1, "provider": map[string]any{"type": "sim"}}, 409, "already exists"},
		{map[string]any{"name": "../x", "kind": "server", "capacity": 1, "provider": map[string]any{"type": "sim"}}, 422, "name"},
		{map[string]any{"name": "x", "kind": "box", "capacity": 1, "provider": map[string]any{"type": "sim"}}, 422, "kind"},
		{map[string]any{"name": "x", "kind": "server", "capacity": -1, "provider": map[string]any{"type": "sim"}}, 422, "capacity"},
		{map[string]any{"name": "x", "kind": "server", "provider": map[string]any{"type": "sim"}}, 422, "capacity is required"},
		{map[string]any{"name": "x", "kind": "server", "capacity": 1, "provider": map[string]any{"type": "ftp"}}, 422, "not known"},
		{map[string]any{"name": "x", "kind": "server", "capacity": 1, "provider": map[string]any{"type": "sftp", "host": "h", "user": "u", "password": "p", "dir": "/d"}}, 422, "host"},
		{map[string]any{"name": "x", "kind": "server", "capacity": 1, "bogus": 1}, 400, "unknown field"},
		{"not json", 400, "invalid JSON"},
	}
	for _, c := range cases {
		r := h.Do("POST", "/api/v1/pools", c.body)
		if r.Status != c.status || !strings.Contains(string(r.Body), c.detail) {
			t.Errorf("%v: %d %s", c.body, r.Status, r.Body)
		}
	}
	// Secrets are write-only.
	r := h.Do("POST", "/api/v1/pools", map[string]any{"name": "s1", "kind": "server", "capacity": 1,
		"provider": map[string]any{"type": "sftp", "host": "10.0.0.5", "user": "ubuntu", "password": "hunter2", "host_key": "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", "dir": "/home/ubuntu/sessions"}})
	r.MustStatus(t, 201)
	for _, path := range []string{"/api/v1/pools", "/api/v1/pools/2"} {
		body := string(h.Do("GET", path, nil).Body)
		if strings.Contains(body, "hunter2") || !strings.Contains(body, `"password": "(set)"`) {
			t.Errorf("%s leaks or hides the secret wrongly: %s", path, body)
		}
	}
	// Bulk status: unknown id and invalid status fail per item.
	var res struct {
		SuccessCount int `json:"success_count"`
		FailedCount  int `json:"failed_count"`
		Failed       []struct {
			ID    int64
			Error string
		}
	}
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{id, 999}, "status": "banned", "message": "tos"}).MustStatus(t, 200).JSON(t, &res)
	if res.SuccessCount != 1 || res.FailedCount != 1 || res.Failed[0].ID != 999 || res.Failed[0].Error != "pool not found" {
		t.Fatalf("bulk: %+v", res)
	}
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{id}, "status": "sleepy"}).MustStatus(t, 200).JSON(t, &res)
	if res.SuccessCount != 0 || res.FailedCount != 1 || !strings.Contains(res.Failed[0].Error, "unknown status") {
		t.Fatalf("bulk invalid status: %+v", res)
	}
	// Status history has actor and reason.
	var hist struct {
		Items []struct{ Action, From, To, Reason, Actor string }
	}
	h.Do("GET", "/api/v1/history?pool=worker-01&action=pool.status", nil).JSON(t, &hist)
	if len(hist.Items) != 1 || hist.Items[0].From != "active" || hist.Items[0].To != "banned" || hist.Items[0].Reason != "tos" || hist.Items[0].Actor != "admin-token" {
		t.Fatalf("status history: %+v", hist.Items)
	}
	h.Do("GET", "/api/v1/pools/abc", nil).MustStatus(t, 400)
	h.Do("GET", "/api/v1/pools/12345", nil).MustStatus(t, 404)
}
