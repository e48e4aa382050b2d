package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// /metrics answers the allowed networks (loopback by default) and the
// metrics token, and refuses everyone else with a 403 that says why.
func TestMetricsAccess(t *testing.T) {
	const adminToken = "test-admin-token-0123456789"
	const metricsToken = "metrics-token-0123456789abc"
	st := storetest.Open(t, store.SQLite)
	if _, err := st.PoolCreate(context.Background(), store.PoolCreateParams{Name: "secret-team", Kind: model.KindTeam, Capacity: 3,
		ProviderType: "sim", ProviderConfig: []byte("{}"), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	s := New(alloc.New(st, nil, nil), auth.New(auth.Config{Store: st, AdminTokenHash: sha256.Sum256([]byte(adminToken))}), nil)
	srv := httptest.NewServer(s) // a real HTTP client on loopback
	t.Cleanup(srv.Close)

	// over HTTP from loopback, with an optional bearer token
	overHTTP := func(token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// from remote, a client address as the clientip middleware leaves it
	from := func(remote, token string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = remote
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	refused := func(name string, code int, ct, body, detail string) {
		t.Helper()
		if code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
			return
		}
		if !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("%s: content type %q", name, ct)
		}
		var p struct{ Detail string }
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("%s: %v in %s", name, err, body)
		}
		if !strings.Contains(p.Detail, "BERTH_METRICS_ALLOWED_NETS") || !strings.Contains(p.Detail, detail) {
			t.Errorf("%s: detail %q lacks %q", name, p.Detail, detail)
		}
		if strings.Contains(body, "secret-team") || strings.Contains(body, "berth_") {
			t.Errorf("%s: the refusal shows metrics: %s", name, body)
		}
	}

	// The defaults: loopback reads, strangers do not.
	if code, body := overHTTP(""); code != 200 || !strings.Contains(body, `pool="secret-team"`) {
		t.Fatalf("loopback with the defaults: %d\n%.300s", code, body)
	}
	if w := from("[::1]:5000", ""); w.Code != 200 {
		t.Errorf("::1 with the defaults: %d %s", w.Code, w.Body)
	}
	w := from("203.0.113.7:5000", "")
	refused("a stranger, defaults", w.Code, w.Header().Get("Content-Type"), w.Body.String(), "203.0.113.7")
	w = from("203.0.113.7:5000", adminToken)
	refused("a stranger with the admin token, no metrics token set", w.Code, w.Header().Get("Content-Type"), w.Body.String(), "no BERTH_METRICS_TOKEN is set")

	// Only a token (no network): loopback needs it too; the admin token is
	// not the metrics token.
	s.SetMetrics(metrics.Config{AllowedNets: []netip.Prefix{}, Token: metricsToken})
	code, body := overHTTP("")
	refused("loopback, no networks allowed", code, "application/problem+json", body, "127.0.0.1")
	if code, body := overHTTP(metricsToken); code != 200 || !strings.Contains(body, "berth_pools{") {
		t.Errorf("loopback with the metrics token: %d\n%.300s", code, body)
	}
	if w := from("203.0.113.7:5000", metricsToken); w.Code != 200 {
		t.Errorf("a stranger with the metrics token: %d %s", w.Code, w.Body)
	}
	code, body = overHTTP(adminToken)
	refused("the admin token", code, "application/problem+json", body, "not BERTH_METRICS_TOKEN")

	// An allowed network.
	s.SetMetrics(metrics.Config{AllowedNets: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	if w := from("203.0.113.7:5000", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "berth_pools{") {
		t.Errorf("inside the allowed network: %d %.300s", w.Code, w.Body)
	}
	w = from("198.51.100.1:5000", "")
	refused("outside the allowed network", w.Code, w.Header().Get("Content-Type"), w.Body.String(), "198.51.100.1")
}
