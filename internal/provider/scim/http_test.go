package scim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/provider"
)

// These tests use a scripted server on loopback to pin down how answers are
// classified; the SCIMMY tests cover the protocol against a real server.

// fake answers ServiceProviderConfig normally and every other request with
// handle.
func fake(t *testing.T, handle http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var spc atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/scim/v2/ServiceProviderConfig" {
			spc.Add(1)
			w.Header().Set("Content-Type", mediaType)
			_, _ = io.WriteString(w, `{"patch":{"supported":true},"filter":{"supported":true,"maxResults":50}}`)
			return
		}
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &spc
}

func scimErr(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":  http.StatusText(status), "scimType": scimType, "detail": detail,
	})
}

func TestAnswerClassification(t *testing.T) {
	date := time.Now().Add(40 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		class      provider.Class
		retryAfter time.Duration // lower bound
		says       string
	}{
		{"401", 401, nil, provider.PoolPermanent, 0, "credentials rejected"},
		{"403", 403, nil, provider.PoolPermanent, 0, "credentials rejected"},
		{"400", 400, nil, provider.MemberPermanent, 0, "HTTP 400"},
		{"404 collection", 404, nil, provider.PoolPermanent, 0, "HTTP 404"},
		{"422", 422, nil, provider.MemberPermanent, 0, "HTTP 422"},
		{"429 seconds", 429, map[string]string{"Retry-After": "12"}, provider.Retryable, 12 * time.Second, "HTTP 429"},
		{"429 date", 429, map[string]string{"Retry-After": date}, provider.Retryable, 30 * time.Second, "HTTP 429"},
		{"500", 500, nil, provider.Retryable, 0, "HTTP 500"},
		{"503", 503, map[string]string{"Retry-After": "5"}, provider.Retryable, 5 * time.Second, "HTTP 503"},
		{"501", 501, nil, provider.PoolPermanent, 0, "does not implement"},
		{"302", 302, map[string]string{"Location": "https://elsewhere.example/scim"}, provider.PoolPermanent, 0, "redirected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				scimErr(w, tc.status, "", "scripted answer")
			})
			p := newProvider(t, Config{BaseURL: srv.URL + "/scim/v2", Token: "s3cr3t-token"})
			err := p.Put(context.Background(), member("ada@example.com"))
			pe := mustClass(t, err, tc.class)
			if pe.RetryAfter < tc.retryAfter || (tc.retryAfter == 0 && pe.RetryAfter != 0) {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tc.retryAfter)
			}
			if !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "s3cr3t-token") {
				t.Errorf("error %q: want it to say %q and not to contain the token", err, tc.says)
			}
		})
	}
}

func TestRequestsAndConflictOnCreate(t *testing.T) {
	var (
		mu      sync.Mutex
		gets    int
		created bool
	)
	srv, spc := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("Authorization = %q", got)
		}
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", mediaType)
		switch {
		case r.Method == "GET" && r.URL.Path == "/scim/v2/Users":
			if f := r.URL.Query().Get("filter"); f != `userName eq "o\"hara@example.com"` {
				t.Errorf("filter = %q", f)
			}
			gets++
			if created {
				_, _ = io.WriteString(w, `{"totalResults":1,"Resources":[{"id":"u1","userName":"o\"hara@example.com","active":true}]}`)
			} else {
				_, _ = io.WriteString(w, `{"totalResults":0,"Resources":[]}`)
			}
		case r.Method == "POST" && r.URL.Path == "/scim/v2/Users":
			if ct := r.Header.Get("Content-Type"); ct != mediaType {
				t.Errorf("Content-Type = %q", ct)
			}
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body["userName"] != `o"hara@example.com` || body["active"] != true {
				t.Errorf("created %v", body)
			}
			// Someone else created the user just before us.
			created = true
			scimErr(w, 409, "uniqueness", "userName taken")
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	})
	p := newProvider(t, Config{BaseURL: srv.URL + "/scim/v2/", Token: "tok"})
	if err := p.Put(context.Background(), member(`o"hara@example.com`)); err != nil {
		t.Fatalf("Put after a uniqueness conflict: %v", err)
	}
	if gets != 2 {
		t.Errorf("%d lookups, want 2 (before creating and after the conflict)", gets)
	}
	// Another provider of the same server reuses the ServiceProviderConfig.
	if err := newProvider(t, Config{BaseURL: srv.URL + "/scim/v2", Token: "tok"}).Put(context.Background(), member(`o"hara@example.com`)); err != nil {
		t.Fatal(err)
	}
	if n := spc.Load(); n != 1 {
		t.Errorf("ServiceProviderConfig read %d times, want once", n)
	}
}

func TestConflictWithoutUserIsMemberPermanent(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", mediaType)
		if r.Method == "POST" {
			scimErr(w, 409, "uniqueness", "email already used by another user")
			return
		}
		_, _ = io.WriteString(w, `{"totalResults":0,"Resources":[]}`)
	})
	err := newProvider(t, Config{BaseURL: srv.URL + "/scim/v2"}).Put(context.Background(), member("ada@example.com"))
	mustClass(t, err, provider.MemberPermanent)
}

func TestTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	p := newProvider(t, Config{BaseURL: srv.URL + "/scim/v2", Timeout: 200 * time.Millisecond})
	err := p.Put(context.Background(), member("ada@example.com"))
	mustClass(t, err, provider.Retryable)
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("error %q does not say it timed out", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mustClass(t, p.Put(ctx, member("ada@example.com")), provider.Retryable)

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	err = newProvider(t, Config{BaseURL: closed.URL + "/scim/v2"}).Check(context.Background())
	mustClass(t, err, provider.Retryable)
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-3":                            0,
		"7":                             7 * time.Second,
		" 120 ":                         2 * time.Minute,
		"999999":                        24 * time.Hour,
		"soon":                          0,
		"Thu, 01 Jan 2026 00:01:30 GMT": 90 * time.Second,
		"Wed, 31 Dec 2025 23:00:00 GMT": 0,
	} {
		if got := provider.RetryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{Config{BaseURL: "https://example.com/scim/v2", Token: "t"}, ""},
		{Config{BaseURL: "https://example.com/scim/v2/", Token: "t", Deprovision: "deactivate", Group: "Eng team"}, ""},
		{Config{BaseURL: "http://127.0.0.1:9000/scim/v2", Token: "t"}, ""},
		{Config{BaseURL: "http://localhost/scim", Token: "t", Deprovision: "delete"}, ""},
		{Config{BaseURL: "", Token: "t"}, "base_url is required"},
		{Config{BaseURL: "example.com/scim/v2", Token: "t"}, "absolute"},
		{Config{BaseURL: "http://example.com/scim/v2", Token: "t"}, "https"},
		{Config{BaseURL: "ldap://example.com/", Token: "t"}, "https"},
		{Config{BaseURL: "https://u:p@example.com/scim", Token: "t"}, "user or password"},
		{Config{BaseURL: "https://example.com/scim?x=1", Token: "t"}, "query"},
		{Config{BaseURL: "https://example.com/scim/v2"}, "token is required"},
		{Config{BaseURL: "https://example.com/scim/v2", Token: "Bearer abc"}, "without \"Bearer \""},
		{Config{BaseURL: "https://example.com/scim/v2", Token: "t", Deprovision: "suspend"}, "deprovision"},
		{Config{BaseURL: "https://example.com/scim/v2", Token: "t", Group: " Eng"}, "group"},
		{Config{BaseURL: "https://example.com/scim/v2", Token: "t", Timeout: -time.Second}, "negative"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want valid", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error saying %q", tc.cfg, err, tc.want)
		}
	}
	c := Config{BaseURL: "https://example.com/scim/v2", Token: "very-secret-token", Group: "Eng"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "very-secret-token") || !strings.Contains(s, "token set") {
			t.Errorf("String() = %q", s)
		}
	}
	if _, err := New(Config{BaseURL: "https://example.com", Token: "x y"}); err == nil || strings.Contains(err.Error(), "x y") {
		t.Errorf("New with a bad token: %v", err)
	}
}

func TestFilterEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"ada@example.com":  `userName eq "ada@example.com"`,
		`a"b@example.com`:  `userName eq "a\"b@example.com"`,
		`a\b@example.com`:  `userName eq "a\\b@example.com"`,
		"<x>&@example.com": `userName eq "<x>&@example.com"`,
	} {
		if got := filterEq("userName", in); got != want {
			t.Errorf("filterEq(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestMemberErrorsSendNothing(t *testing.T) {
	var n atomic.Int32
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1) })
	p := newProvider(t, Config{BaseURL: srv.URL + "/scim/v2"})
	for _, id := range []string{"", " ", "a\x00b"} {
		err := p.Put(context.Background(), member(id))
		if provider.Classify(err) != provider.MemberPermanent {
			t.Errorf("Put(%q) = %v, want member-permanent", id, err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("%d requests sent for invalid members", n.Load())
	}
}
