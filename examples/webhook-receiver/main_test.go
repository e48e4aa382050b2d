package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/egress"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/webhook"
)

const secret = "example-receiver-secret-0123456789"

// loopback lets the provider reach the test receiver on 127.0.0.1, which
// berth's default allow-list (external addresses only) refuses.
var loopback = egress.MustParse(egress.Loopback)

// harness runs the example receiver on a real loopback HTTP server and
// records what it applied and the raw requests it got.
type harness struct {
	srv     *httptest.Server
	rc      *Receiver
	mu      sync.Mutex
	applied []string // "type member"
	raw     []captured
}

type captured struct {
	header http.Header
	body   []byte
}

func newHarness(t *testing.T) *harness {
	h := &harness{}
	h.rc = &Receiver{Secret: []byte(secret), Apply: func(ev Event) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.applied = append(h.applied, ev.Type+" "+ev.Data.Member)
		return nil
	}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.raw = append(h.raw, captured{r.Header.Clone(), body})
		h.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.rc.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) appliedOps() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.applied...)
}

func (h *harness) lastRaw() captured {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.raw[len(h.raw)-1]
}

// putAda has berth Put ada@example.com to the receiver and returns the
// request as sent.
func (h *harness) putAda(t *testing.T) captured {
	t.Helper()
	if err := berth(t, h.srv.URL).Put(context.Background(), provider.Member{ID: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	return h.lastRaw()
}

func (h *harness) send(t *testing.T, c captured) int {
	t.Helper()
	req, _ := http.NewRequest("POST", h.srv.URL, bytes.NewReader(c.body))
	req.Header = c.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func berth(t *testing.T, url string) *webhook.Provider {
	t.Helper()
	p, err := webhook.New("team-7", webhook.Config{URL: url, Secret: secret, Timeout: 5 * time.Second, Egress: loopback})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReceiverAppliesEachOperationOnce(t *testing.T) {
	h := newHarness(t)
	p := berth(t, h.srv.URL)
	ctx := context.Background()
	ada := provider.Member{ID: "ada@example.com"}
	steps := []func() error{
		func() error { return p.Check(ctx) },
		func() error { return p.Put(ctx, ada) },
		func() error { return p.Put(ctx, ada) }, // a retry: deduplicated
		func() error { return p.Remove(ctx, ada) },
		func() error { return p.Remove(ctx, ada) }, // a retry
		func() error { return p.Put(ctx, ada) },    // provisioned again later: applied
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := []string{"seat.provision ada@example.com", "seat.deprovision ada@example.com", "seat.provision ada@example.com"}
	got := h.appliedOps()
	if len(got) != len(want) {
		t.Fatalf("applied %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("applied %q, want %q", got, want)
		}
	}
}

func TestReceiverRejectsReplayedRequest(t *testing.T) {
	h := newHarness(t)
	c := h.putAda(t)
	if code := h.send(t, c); code != http.StatusConflict {
		t.Errorf("a replayed request got HTTP %d, want 409", code)
	}
	if n := len(h.appliedOps()); n != 1 {
		t.Errorf("applied %d operations, want 1", n)
	}
	// berth's own signature checker agrees the request was genuine.
	if err := webhook.Verify([]byte(secret), c.header.Get(webhook.SignatureHeader), c.body, time.Now(), 0); err != nil {
		t.Errorf("webhook.Verify of the captured request: %v", err)
	}
}

func TestReceiverRejectsAlteredRequest(t *testing.T) {
	h := newHarness(t)
	c := h.putAda(t)
	altered := captured{c.header.Clone(), bytes.Replace(c.body, []byte("ada@"), []byte("eve@"), 1)}
	if code := h.send(t, altered); code != http.StatusUnauthorized {
		t.Errorf("an altered body got HTTP %d, want 401", code)
	}
	resigned := captured{c.header.Clone(), c.body}
	resigned.header.Set(webhook.SignatureHeader,
		webhook.Sign([]byte("not-the-secret-at-all"), time.Now(), c.body))
	if code := h.send(t, resigned); code != http.StatusUnauthorized {
		t.Errorf("a request signed with another secret got HTTP %d, want 401", code)
	}
	unsigned := captured{http.Header{}, c.body}
	if code := h.send(t, unsigned); code != http.StatusUnauthorized {
		t.Errorf("an unsigned request got HTTP %d, want 401", code)
	}
	if got := h.appliedOps(); len(got) != 1 {
		t.Errorf("applied %q, want only the genuine provision", got)
	}
}

func TestReceiverRejectsStaleRequest(t *testing.T) {
	h := newHarness(t)
	h.rc.Now = func() time.Time { return time.Now().Add(6 * time.Minute) }
	p := berth(t, h.srv.URL)
	err := p.Put(context.Background(), provider.Member{ID: "ada@example.com"})
	if provider.Classify(err) != provider.PoolPermanent {
		t.Errorf("a delivery outside the tolerance: %v, want berth to see a pool-level rejection", err)
	}
	if got := h.appliedOps(); len(got) != 0 {
		t.Errorf("applied %q", got)
	}
}

func TestReceiverWithWrongSecretMakesTeamCredentialInvalid(t *testing.T) {
	h := newHarness(t)
	p, err := webhook.New("team-7", webhook.Config{URL: h.srv.URL, Secret: "a-different-secret-0123456789", Egress: loopback})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(context.Background()); provider.Classify(err) != provider.PoolPermanent {
		t.Errorf("Check with the wrong secret: %v, want pool-permanent", err)
	}
}
