package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
)

const egressSecret = "0123456789abcdef-egress-secret"

// webhookTeam creates the team "team-1" delivering to url and returns its id.
func webhookTeam(t *testing.T, h *apptest.Harness, url string) int64 {
	t.Helper()
	var p struct{ ID int64 }
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "team-1", "kind": "team", "capacity": 10,
		"provider": map[string]any{"type": "webhook", "url": url, "secret": egressSecret}}).MustStatus(t, 201).JSON(t, &p)
	return p.ID
}

// viewerText is what viewers read about a member and the team: seats
// (last_error), history reasons, the queue, the pools and the member's
// public status (read here as admin, who sees at least as much).
func viewerText(t *testing.T, h *apptest.Harness, email, code string) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{"/api/v1/seats?email=" + email, "/api/v1/history?member=" + email, "/api/v1/history?pool=team-1",
		"/api/v1/queue", "/api/v1/pools"} {
		b.Write(h.Do("GET", q, nil).MustStatus(t, 200).Body)
	}
	fmt.Fprintf(&b, "%+v", publicStatus(t, h, email, code))
	return b.String()
}

// TestProviderAllowListDefaultRefusesLoopback: with the default allow-list
// (external addresses only) a team whose webhook points at a real receiver
// on 127.0.0.1 never reaches it; the delivery fails pool-permanent, the team
// becomes credential_invalid, and the reason names the address and the
// setting. The reconcile endpoint (the API's own path to providers) is
// refused too.
func TestProviderAllowListDefaultRefusesLoopback(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer recv.Close()
	h := apptest.Start(t, store.SQLite, func(c *app.Config) { c.ProviderAllowedHosts = "" })
	id := webhookTeam(t, h, recv.URL+"/hook")
	code := genCodes(t, h, 1, nil)[0]
	redeem(t, h, "user@example.com", code)

	const want = "provider address 127.0.0.1 is not allowed: set BERTH_PROVIDER_ALLOWED_HOSTS (now: external)"
	apptest.Eventually(t, 10*time.Second, "team-1 credential_invalid", func() bool {
		var p struct{ Status string }
		h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", id), nil).MustStatus(t, 200).JSON(t, &p)
		return p.Status == "credential_invalid"
	})
	if text := viewerText(t, h, "user@example.com", code); !strings.Contains(text, want) {
		t.Fatalf("nothing says %q:\n%s", want, text)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the receiver on loopback got %d requests", n)
	}
}

// TestProviderAllowListReconcileUsesSetting: a reconcile run asked for
// through the API opens the team's SCIM provider in its job; it connects
// under the configured allow-list: refused under the default (the run
// fails, saying so), answered with loopback.
func TestProviderAllowListReconcileUsesSetting(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	scimSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/scim+json")
		if strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
			_, _ = io.WriteString(w, `{"patch":{"supported":true},"filter":{"supported":true,"maxResults":50}}`)
			return
		}
		_, _ = io.WriteString(w, `{"totalResults":0,"startIndex":1,"Resources":[]}`)
	}))
	defer scimSrv.Close()
	for _, tc := range []struct {
		allowed string
		ok      bool
	}{{"", false}, {"loopback", true}} {
		hits.Store(0)
		h := apptest.Start(t, store.SQLite, func(c *app.Config) { c.ProviderAllowedHosts = tc.allowed })
		var p struct{ ID int64 }
		h.Do("POST", "/api/v1/pools", map[string]any{"name": "team-1", "kind": "team", "capacity": 10,
			"provider": map[string]any{"type": "scim", "base_url": scimSrv.URL + "/scim/v2", "token": "tok"}}).MustStatus(t, 201).JSON(t, &p)
		var started struct{ Report string }
		h.Do("POST", fmt.Sprintf("/api/v1/pools/%d/reconcile", p.ID), nil).MustStatus(t, 202).JSON(t, &started)
		var run struct{ State, Error string }
		apptest.Eventually(t, 10*time.Second, "the reconcile run ended", func() bool {
			h.Do("GET", started.Report, nil).MustStatus(t, 200).JSON(t, &run)
			return run.State == "done" || run.State == "failed"
		})
		if tc.ok {
			if run.State != "done" || hits.Load() == 0 {
				t.Fatalf("reconcile under loopback did not reach the server: %+v", run)
			}
			continue
		}
		if run.State != "failed" || !strings.Contains(run.Error, "is not allowed") {
			t.Fatalf("reconcile under the default: %+v", run)
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the server on loopback got %d requests under the default", n)
		}
	}
}

// TestWebhookAnswerNeverReachesViewers: a receiver (allowed, on loopback)
// refuses a member with an answer carrying secrets; the seat's last error,
// the history and the public status say HTTP 400 and nothing of the body.
func TestWebhookAnswerNeverReachesViewers(t *testing.T) {
	t.Parallel()
	const leak = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY db=postgres://app:hunter2@10.0.0.7/app"
	var hits atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "traceback (most recent call last): "+leak)
	}))
	defer recv.Close()
	h := apptest.Start(t, store.SQLite) // the harness allows loopback
	webhookTeam(t, h, recv.URL+"/hook")
	code := genCodes(t, h, 1, nil)[0]
	redeem(t, h, "user@example.com", code)
	apptest.Eventually(t, 10*time.Second, "refund", func() bool {
		return len(history(t, h, "member=user@example.com&action=code.refunded")) == 1
	})
	if hits.Load() == 0 {
		t.Fatal("the receiver was not called")
	}
	text := viewerText(t, h, "user@example.com", code)
	if !strings.Contains(text, "HTTP 400") {
		t.Fatalf("nothing says HTTP 400:\n%s", text)
	}
	for _, bad := range []string{"wJalr", "AWS_SECRET", "hunter2", "traceback", "postgres://"} {
		if strings.Contains(text, bad) {
			t.Fatalf("viewers read %q from the receiver's answer:\n%s", bad, text)
		}
	}
}
