package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/provider"
)

const testSecret = "0123456789abcdef-test-secret"

// delivery is one request a test receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// recorder is a receiver on a real loopback HTTP server that verifies
// deliveries with a ReplayGuard and remembers them.
type recorder struct {
	srv   *httptest.Server
	guard ReplayGuard
	mu    sync.Mutex
	got   []delivery
	errs  []error
}

func newRecorder(t *testing.T) *recorder {
	rc := &recorder{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, err := rc.guard.Accept([]byte(testSecret), r.Header.Get(SignatureHeader), body, time.Now())
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{r.Header.Clone(), body})
		rc.errs = append(rc.errs, err)
		rc.mu.Unlock()
		switch {
		case errors.Is(err, ErrReplay):
			http.Error(w, err.Error(), http.StatusConflict)
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *recorder) last(t *testing.T) (delivery, error) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) == 0 {
		t.Fatal("the receiver got nothing")
	}
	return rc.got[len(rc.got)-1], rc.errs[len(rc.errs)-1]
}

// resend sends a captured delivery again, byte for byte.
func (rc *recorder) resend(t *testing.T, d delivery) int {
	t.Helper()
	req, _ := http.NewRequest("POST", rc.srv.URL, bytes.NewReader(d.body))
	req.Header = d.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// putAda makes a provider for rc, has it Put ada@example.com and returns
// it with the delivery the receiver got and the receiver's verdict on it.
func (rc *recorder) putAda(t *testing.T) (*Provider, delivery, error) {
	t.Helper()
	p := newProvider(t, rc.srv.URL)
	if err := p.Put(context.Background(), provider.Member{ID: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	d, err := rc.last(t)
	return p, d, err
}

func newProvider(t *testing.T, url string) *Provider {
	t.Helper()
	p, err := New("team-7", Config{URL: url, Secret: testSecret, Timeout: 2 * time.Second, Egress: loopback})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDeliveryIsSignedAndVerifies(t *testing.T) {
	rc := newRecorder(t)
	p, d, verr := rc.putAda(t)
	if verr != nil {
		t.Fatalf("the receiver rejected the delivery: %v", verr)
	}
	var ev Event
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != TypeProvision || ev.Data.Member != "ada@example.com" || ev.Data.Pool != "team-7" {
		t.Errorf("event = %+v", ev)
	}
	if ev.ID != EventID(TypeProvision, "team-7", "ada@example.com") || d.header.Get(IdempotencyHeader) != ev.ID {
		t.Errorf("id %q, Idempotency-Key %q, want both %q", ev.ID, d.header.Get(IdempotencyHeader),
			EventID(TypeProvision, "team-7", "ada@example.com"))
	}
	if d.header.Get(EventHeader) != TypeProvision || d.header.Get(DeliveryHeader) != ev.Delivery || ev.Delivery == "" {
		t.Errorf("headers %v do not match event %+v", d.header, ev)
	}
	if ct := d.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	sig := d.header.Get(SignatureHeader)
	if !strings.HasPrefix(sig, "t=") || !strings.Contains(sig, ",v1=") {
		t.Errorf("%s = %q", SignatureHeader, sig)
	}
	if err := Verify([]byte(testSecret), sig, d.body, time.Unix(ev.Created, 0), 0); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := Verify([]byte("another-secret-of-16+"), sig, d.body, time.Unix(ev.Created, 0), 0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify with the wrong secret = %v, want ErrBadSignature", err)
	}

	if err := p.Remove(context.Background(), provider.Member{ID: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	d2, _ := rc.last(t)
	if d2.header.Get(EventHeader) != TypeDeprovision {
		t.Errorf("Remove sent %q", d2.header.Get(EventHeader))
	}
	if err := p.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	d3, _ := rc.last(t)
	if d3.header.Get(EventHeader) != TypePing {
		t.Errorf("Check sent %q", d3.header.Get(EventHeader))
	}
}

func TestIdempotencyKeyIsStablePerOperation(t *testing.T) {
	rc := newRecorder(t)
	p := newProvider(t, rc.srv.URL)
	ctx := context.Background()
	m := provider.Member{ID: "ada@example.com"}
	for range 2 {
		if err := p.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Remove(ctx, m); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ev := make([]Event, len(rc.got))
	for i, d := range rc.got {
		_ = json.Unmarshal(d.body, &ev[i])
		if rc.errs[i] != nil {
			t.Errorf("delivery %d rejected: %v", i, rc.errs[i])
		}
	}
	if ev[0].ID != ev[1].ID {
		t.Errorf("a retried provision has a new key: %s, %s", ev[0].ID, ev[1].ID)
	}
	if ev[0].Delivery == ev[1].Delivery {
		t.Errorf("two attempts share the delivery id %s", ev[0].Delivery)
	}
	if ev[2].ID == ev[0].ID {
		t.Error("the deprovision has the provision's key")
	}
	if EventID(TypeProvision, "team-8", m.ID) == ev[0].ID || EventID(TypeProvision, "team-7", "bob@example.com") == ev[0].ID {
		t.Error("keys of different pools or members collide")
	}
}

func TestAlteredRequestIsRejected(t *testing.T) {
	rc := newRecorder(t)
	_, d, _ := rc.putAda(t)
	altered := delivery{header: d.header.Clone(), body: bytes.Replace(d.body, []byte("ada@"), []byte("eve@"), 1)}
	if bytes.Equal(altered.body, d.body) {
		t.Fatal("the body was not altered")
	}
	if code := rc.resend(t, altered); code != http.StatusUnauthorized {
		t.Errorf("an altered body got HTTP %d, want 401", code)
	}
	if _, err := rc.last(t); !errors.Is(err, ErrBadSignature) {
		t.Errorf("altered body: %v, want ErrBadSignature", err)
	}

	// A re-signed timestamp without the secret does not match either.
	forged := delivery{header: d.header.Clone(), body: d.body}
	sig := forged.header.Get(SignatureHeader)
	forged.header.Set(SignatureHeader, "t=9"+sig[2:])
	if code := rc.resend(t, forged); code != http.StatusUnauthorized {
		t.Errorf("a changed timestamp got HTTP %d, want 401", code)
	}
	// No signature at all.
	bare := delivery{header: http.Header{"Content-Type": {"application/json"}}, body: d.body}
	if code := rc.resend(t, bare); code != http.StatusUnauthorized {
		t.Errorf("an unsigned request got HTTP %d, want 401", code)
	}
	if _, err := rc.last(t); !errors.Is(err, ErrNoSignature) {
		t.Errorf("unsigned: %v, want ErrNoSignature", err)
	}
}

func TestReplayIsRejected(t *testing.T) {
	rc := newRecorder(t)
	p, d, err := rc.putAda(t)
	if err != nil {
		t.Fatal(err)
	}
	if code := rc.resend(t, d); code != http.StatusConflict {
		t.Errorf("a replayed request got HTTP %d, want 409", code)
	}
	if _, err := rc.last(t); !errors.Is(err, ErrReplay) {
		t.Errorf("replay: %v, want ErrReplay", err)
	}
	// A genuine retry is a new delivery and passes.
	if err := p.Put(context.Background(), provider.Member{ID: "ada@example.com"}); err != nil {
		t.Errorf("a retry after the first delivery: %v", err)
	}
}

func TestStaleOrFutureTimestampIsRejected(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"ping","created":1,"delivery":"dlv_1","data":{"pool":"p"}}`)
	signed := time.Unix(1_767_225_600, 0)
	h := Sign([]byte(testSecret), signed, body)
	for _, tc := range []struct {
		now  time.Time
		tol  time.Duration
		want error
	}{
		{signed.Add(4 * time.Minute), 0, nil},
		{signed.Add(-4 * time.Minute), 0, nil},
		{signed.Add(6 * time.Minute), 0, ErrStale},
		{signed.Add(-6 * time.Minute), 0, ErrStale},
		{signed.Add(90 * time.Second), time.Minute, ErrStale},
	} {
		err := Verify([]byte(testSecret), h, body, tc.now, tc.tol)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("Verify at %v (tolerance %v) = %v, want %v", tc.now.Sub(signed), tc.tol, err, tc.want)
		}
	}
	var g ReplayGuard
	if _, err := g.Accept([]byte(testSecret), h, body, signed.Add(10*time.Minute)); !errors.Is(err, ErrStale) {
		t.Errorf("Accept of a stale delivery = %v, want ErrStale", err)
	}

	// A delivery signed 6 minutes before berth sent it (a receiver's view of
	// a sender whose clock is off) is refused end to end.
	rc := newRecorder(t)
	p := newProvider(t, rc.srv.URL)
	p.now = func() time.Time { return time.Now().Add(-6 * time.Minute) }
	err := p.Put(context.Background(), provider.Member{ID: "ada@example.com"})
	if provider.Classify(err) != provider.PoolPermanent {
		t.Errorf("a stale delivery rejected with 401: %v, want pool-permanent", err)
	}
	if _, verr := rc.last(t); !errors.Is(verr, ErrStale) {
		t.Errorf("receiver: %v, want ErrStale", verr)
	}
}

func TestSignatureHeaderParsing(t *testing.T) {
	body := []byte("{}")
	now := time.Unix(1_767_225_600, 0)
	good := Sign([]byte(testSecret), now, body)
	v1 := good[strings.Index(good, "v1="):]
	for _, tc := range []struct {
		header string
		want   error
	}{
		{good, nil},
		{" " + strings.ReplaceAll(good, ",", " , ") + " ", nil},
		{"t=1767225600,v1=00ff," + v1, nil},      // one of several v1 (secret rotation)
		{"t=1767225600,v0=abc," + v1, nil},       // unknown schemes are ignored
		{"t=1767225600,v1=00ff", ErrNoSignature}, // malformed signature only
		{"t=1767225600,v1=" + strings.Repeat("ab", 32), ErrBadSignature},
		{"", ErrNoSignature},
		{v1, ErrNoSignature},
		{"t=1767225600", ErrNoSignature},
		{"t=abc," + v1, ErrNoSignature},
		{"t=1767225600,t=1767225600," + v1, ErrNoSignature},
	} {
		err := Verify([]byte(testSecret), tc.header, body, now, 0)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("Verify(%q) = %v, want %v", tc.header, err, tc.want)
		}
	}
}

func TestReplayGuardForgetsAfterTheWindow(t *testing.T) {
	var g ReplayGuard
	t0 := time.Unix(1_767_225_600, 0)
	if g.Seen("a", t0.Add(time.Minute), t0) {
		t.Fatal("a first delivery seen")
	}
	if !g.Seen("a", t0.Add(time.Minute), t0.Add(30*time.Second)) {
		t.Fatal("a repeated delivery not seen")
	}
	if g.Seen("a", t0.Add(5*time.Minute), t0.Add(2*time.Minute)) {
		t.Fatal("a delivery was remembered past its window")
	}
	g.Seen("b", t0.Add(time.Minute), t0)
	g.Seen("c", t0.Add(time.Hour), t0.Add(10*time.Minute)) // prunes a and b
	g.mu.Lock()
	n := len(g.seen)
	g.mu.Unlock()
	if n != 1 {
		t.Errorf("%d deliveries remembered after their windows passed, want 1", n)
	}
}

func TestStatusClassification(t *testing.T) {
	date := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		ping       bool
		class      provider.Class
		ok         bool
		retryAfter time.Duration // lower bound
	}{
		{name: "200", status: 200, ok: true},
		{name: "202", status: 202, ok: true},
		{name: "204", status: 204, ok: true},
		{name: "401", status: 401, class: provider.PoolPermanent},
		{name: "403", status: 403, class: provider.PoolPermanent},
		{name: "400", status: 400, class: provider.MemberPermanent},
		{name: "404", status: 404, class: provider.MemberPermanent},
		{name: "409", status: 409, class: provider.MemberPermanent},
		{name: "422", status: 422, class: provider.MemberPermanent},
		{name: "404 ping", status: 404, ping: true, class: provider.PoolPermanent},
		{name: "408", status: 408, class: provider.Retryable},
		{name: "429 seconds", status: 429, header: map[string]string{"Retry-After": "3"}, class: provider.Retryable, retryAfter: 3 * time.Second},
		{name: "429 date", status: 429, header: map[string]string{"Retry-After": date}, class: provider.Retryable, retryAfter: 20 * time.Second},
		{name: "429 bare", status: 429, class: provider.Retryable},
		{name: "500", status: 500, class: provider.Retryable},
		{name: "503", status: 503, header: map[string]string{"Retry-After": "2"}, class: provider.Retryable, retryAfter: 2 * time.Second},
		{name: "302", status: 302, header: map[string]string{"Location": "https://elsewhere.example/"}, class: provider.PoolPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, "answer from the receiver")
			}))
			defer srv.Close()
			p := newProvider(t, srv.URL)
			var err error
			if tc.ping {
				err = p.Check(context.Background())
			} else {
				err = p.Put(context.Background(), provider.Member{ID: "ada@example.com"})
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("HTTP %d: %v, want success", tc.status, err)
				}
				return
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("HTTP %d: %v is not a provider.Error", tc.status, err)
			}
			if pe.Class != tc.class {
				t.Errorf("HTTP %d: class %v, want %v (%v)", tc.status, pe.Class, tc.class, err)
			}
			if pe.RetryAfter < tc.retryAfter || (tc.retryAfter == 0 && pe.RetryAfter != 0) {
				t.Errorf("HTTP %d: RetryAfter %v, want %v", tc.status, pe.RetryAfter, tc.retryAfter)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("the error contains the secret: %v", err)
			}
		})
	}
}

func TestTimeoutAndConnectionFailureAreRetryable(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	p, err := New("team-7", Config{URL: slow.URL, Secret: testSecret, Timeout: 200 * time.Millisecond, Egress: loopback})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Put(context.Background(), provider.Member{ID: "ada@example.com"})
	if provider.Classify(err) != provider.Retryable || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("slow receiver: %v, want a retryable timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %v", d)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	p2 := newProvider(t, url)
	if err := p2.Put(context.Background(), provider.Member{ID: "ada@example.com"}); provider.Classify(err) != provider.Retryable {
		t.Errorf("refused connection: %v, want retryable", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p2.Put(ctx, provider.Member{ID: "ada@example.com"}); provider.Classify(err) != provider.Retryable {
		t.Errorf("cancelled context: %v, want retryable", err)
	}
}

func TestMemberAndListErrors(t *testing.T) {
	rc := newRecorder(t)
	p := newProvider(t, rc.srv.URL)
	for _, id := range []string{"", "  ", "a\nb@example.com"} {
		if err := p.Put(context.Background(), provider.Member{ID: id}); provider.Classify(err) != provider.MemberPermanent {
			t.Errorf("Put(%q) = %v, want member-permanent", id, err)
		}
	}
	if _, err := p.List(context.Background()); !errors.Is(err, ErrNoList) || !errors.Is(err, provider.ErrCannotList) {
		t.Errorf("List = %v, want ErrNoList (provider.ErrCannotList)", err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) != 0 {
		t.Errorf("invalid members were sent: %d deliveries", len(rc.got))
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{Config{URL: "https://hooks.example.com/berth", Secret: testSecret}, ""},
		{Config{URL: "http://127.0.0.1:8080/hook", Secret: testSecret}, ""},
		{Config{URL: "http://localhost/hook", Secret: testSecret}, ""},
		{Config{URL: "http://[::1]:9/hook", Secret: testSecret}, ""},
		{Config{URL: "", Secret: testSecret}, "url is required"},
		{Config{URL: "/hook", Secret: testSecret}, "absolute"},
		{Config{URL: "http://hooks.example.com/berth", Secret: testSecret}, "https"},
		{Config{URL: "ftp://hooks.example.com/berth", Secret: testSecret}, "https"},
		{Config{URL: "https://u:p@hooks.example.com/", Secret: testSecret}, "user or password"},
		{Config{URL: "https://hooks.example.com/", Secret: ""}, "secret is required"},
		{Config{URL: "https://hooks.example.com/", Secret: "short"}, "at least 16"},
		{Config{URL: "https://hooks.example.com/", Secret: testSecret, Timeout: -1}, "negative"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v, want valid", tc.cfg.URL, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want an error saying %q", tc.cfg.URL, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), testSecret) {
			t.Errorf("the error contains the secret: %v", err)
		}
	}
	c := Config{URL: "https://hooks.example.com/", Secret: testSecret}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, testSecret) || !strings.Contains(s, "secret set") {
			t.Errorf("String() = %q", s)
		}
	}
}
