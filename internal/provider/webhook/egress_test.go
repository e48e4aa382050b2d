package webhook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/egress"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/providertest"
)

// loopback lets the provider reach the test servers on 127.0.0.1.
var loopback = providertest.Loopback

// TestAllowListRefusesInternalReceivers points a team at a real receiver on
// 127.0.0.1: under the default allow-list no request reaches it (by address
// or by a name resolving to it) and the failure is a pool-permanent error
// naming the setting; with loopback, from the configuration or the call's
// context, it is delivered.
func TestAllowListRefusesInternalReceivers(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ctx := context.Background()
	ada := provider.Member{ID: "ada@example.com"}

	for _, tc := range []struct{ url, want string }{
		{srv.URL + "/hook", "provider address 127.0.0.1 is not allowed: set BERTH_PROVIDER_ALLOWED_HOSTS (now: external)"},
		{"http://localhost:" + port + "/hook", "(localhost) is not allowed: set BERTH_PROVIDER_ALLOWED_HOSTS (now: external)"},
		{"https://169.254.169.254/latest/meta-data/", "provider address 169.254.169.254 is not allowed"},
	} {
		p, err := New("team-7", Config{URL: tc.url, Secret: testSecret, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		providertest.WantRefused(t, ctx, p, ada, tc.url, tc.want)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the receiver got %d requests under the default allow-list", n)
	}

	byConfig, _ := New("team-7", Config{URL: srv.URL + "/hook", Secret: testSecret, Egress: loopback})
	if err := byConfig.Put(ctx, ada); err != nil {
		t.Fatalf("loopback in the configuration: %v", err)
	}
	byName, _ := New("team-7", Config{URL: "http://localhost:" + port + "/hook", Secret: testSecret})
	if err := byName.Put(egress.NewContext(ctx, egress.MustParse("external, localhost")), ada); err != nil {
		t.Fatalf("localhost listed by name, in the context: %v", err)
	}
	if err := byName.Put(egress.NewContext(ctx, loopback), ada); err != nil {
		t.Fatalf("loopback in the context: %v", err)
	}
	if n := hits.Load(); n != 3 {
		t.Fatalf("the receiver got %d requests, want 3", n)
	}
}

// TestAnswerBodyNeverInErrors: whatever a receiver answers in its body
// (here a stack trace with a key) stays out of the error, which ends up in
// a seat's last error and the history; the status is kept.
func TestAnswerBodyNeverInErrors(t *testing.T) {
	const leak = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	for _, status := range []int{400, 401, 404, 409, 429, 500, 503, 302} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if status == 302 {
				w.Header().Set("Location", "https://elsewhere.example/hook")
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "panic: runtime error\n"+leak+"\ninternal db=postgres://app:hunter2@10.0.0.7/app")
		}))
		p := newProvider(t, srv.URL)
		for _, err := range []error{p.Put(context.Background(), provider.Member{ID: "ada@example.com"}), p.Check(context.Background())} {
			msg := err.Error()
			if err == nil || !strings.Contains(msg, "HTTP ") {
				t.Errorf("HTTP %d: %v, want an error with the status", status, err)
				continue
			}
			for _, bad := range []string{"wJalr", "AWS_SECRET", "hunter2", "panic", "postgres://"} {
				if strings.Contains(msg, bad) {
					t.Errorf("HTTP %d: the error quotes the answer (%q): %s", status, bad, msg)
				}
			}
		}
		srv.Close()
	}
}

// TestNonHTTPAnswerNotQuoted points a team at a service that is not HTTP
// (as a Redis on loopback would answer): Go's client quotes the first bytes
// of such an answer in its error; berth's error must not.
func TestNonHTTPAnswerNotQuoted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_, _ = io.WriteString(c, "-ERR redis_password=Sup3rS3cretValue unknown command\r\n$12\r\nsession-data\r\n")
			}()
		}
	}()
	p := newProvider(t, "http://"+ln.Addr().String()+"/")
	err = p.Put(context.Background(), provider.Member{ID: "ada@example.com"})
	if err == nil {
		t.Fatal("a non-HTTP answer was accepted")
	}
	for _, bad := range []string{"Sup3r", "redis_password", "ERR", "session-data"} {
		if strings.Contains(err.Error(), bad) {
			t.Fatalf("the error quotes the answer (%q): %v", bad, err)
		}
	}
	if !errors.As(err, new(*provider.Error)) {
		t.Fatalf("%v is not classified", err)
	}
}
