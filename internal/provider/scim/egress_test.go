package scim

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/egress"
	"github.com/berthhq/berth/internal/provider/providertest"
)

// loopback lets the provider reach the test servers on 127.0.0.1.
var loopback = providertest.Loopback

// TestAllowListRefusesInternalBaseURL points a team at a real SCIM server
// on 127.0.0.1: under the default allow-list nothing reaches it, by address
// or by a name resolving to it, and Check and Put fail pool-permanent with
// the setting named; with loopback (configuration or context) it answers.
func TestAllowListRefusesInternalBaseURL(t *testing.T) {
	srv, spc := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", mediaType)
		_, _ = io.WriteString(w, `{"totalResults":0,"Resources":[]}`)
	})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ctx := context.Background()
	for _, tc := range []struct{ base, want string }{
		{srv.URL + "/scim/v2", "provider address 127.0.0.1 is not allowed: set BERTH_PROVIDER_ALLOWED_HOSTS (now: external)"},
		{"http://localhost:" + port + "/scim/v2", "(localhost) is not allowed: set BERTH_PROVIDER_ALLOWED_HOSTS (now: external)"},
		{"https://169.254.169.254/scim/v2", "provider address 169.254.169.254 is not allowed"},
	} {
		p, err := New(Config{BaseURL: tc.base, Token: "tok"})
		if err != nil {
			t.Fatal(err)
		}
		providertest.WantRefused(t, ctx, p, member("ada@example.com"), tc.base, tc.want)
	}
	if n := spc.Load(); n != 0 {
		t.Fatalf("the server got %d requests under the default allow-list", n)
	}
	allowed, _ := New(Config{BaseURL: srv.URL + "/scim/v2", Token: "tok", Egress: loopback})
	if err := allowed.Check(ctx); err != nil {
		t.Fatalf("loopback in the configuration: %v", err)
	}
	byCtx, _ := New(Config{BaseURL: "http://localhost:" + port + "/scim/v2", Token: "tok"})
	if err := byCtx.Check(egress.NewContext(ctx, loopback)); err != nil {
		t.Fatalf("loopback in the context: %v", err)
	}
}

// TestErrorsSummariseAnswers: a SCIM error keeps its type and a short,
// cleaned detail (secret-looking runs masked, 120 bytes at most); an answer
// that is not a SCIM error (an HTML error page, a stack trace) is left out
// entirely, since viewers read the error in a seat's last error and history.
func TestErrorsSummariseAnswers(t *testing.T) {
	const key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	for _, tc := range []struct {
		name    string
		answer  func(w http.ResponseWriter)
		says    []string
		neverIn []string
	}{
		{"scim error", func(w http.ResponseWriter) {
			scimErr(w, 400, "invalidValue", "userName is not valid; key "+key+" "+strings.Repeat("more words ", 40))
		}, []string{"HTTP 400 invalidValue: userName is not valid; key […] more words"}, []string{"wJalr", strings.Repeat("more words ", 15)}},
		{"odd scimType", func(w http.ResponseWriter) {
			scimErr(w, 400, "<script>alert(1)</script>", "bad")
		}, []string{"HTTP 400: bad"}, []string{"script"}},
		{"html page", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(500)
			_, _ = io.WriteString(w, "<html><body>Internal error at db.internal:5432 user=admin password=hunter2 "+key+"</body></html>")
		}, []string{"HTTP 500"}, []string{"html", "hunter2", "db.internal", "wJalr"}},
		{"json not scim", func(w http.ResponseWriter) {
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"ami-id":"ami-0abcdef","instance-id":"i-0123456789"}`)
		}, []string{"HTTP 404"}, []string{"ami", "instance"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) { tc.answer(w) })
			p := newProvider(t, Config{BaseURL: srv.URL + "/scim/v2", Token: "tok"})
			err := p.Put(context.Background(), member("ada@example.com"))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, s := range tc.says {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not say %q", msg, s)
				}
			}
			for _, s := range tc.neverIn {
				if strings.Contains(msg, s) {
					t.Errorf("error %q contains %q from the answer", msg, s)
				}
			}
		})
	}
}
