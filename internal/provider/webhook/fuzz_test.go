package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/providertest"
)

// Fuzz tests of the signature scheme (both sides), the replay guard and the
// classification of a receiver's answers. The receiver is a loopback server
// created once per Fuzz function; no network beyond loopback.

// fuzzSecret signs every fuzzed delivery: no error may contain it.
const fuzzSecret = "whsec-FUZZ-5e1d0c9b-never-in-errors"

// echoSecret stands, in a fuzzed answer, for the secret: receivers know it,
// and a careless one may print it in an error page.
const echoSecret = "{{secret}}"

// fuzzNow is the clock of the signature fuzz tests.
var fuzzNow = time.Unix(1_767_225_600, 0)

// fuzzBodies are deliveries as berth sends them, and two that are not.
var fuzzBodies = []string{
	`{"id":"evt_0f1e2d3c4b5a69788796a5b4c3d2e1f0","type":"seat.provision","created":1767225600,"delivery":"dlv_9f8e7d6c5b4a39281706f5e4d3c2b1a0","data":{"member":"ada@example.com","pool":"team-7"}}`,
	`{"id":"evt_1f1e2d3c4b5a69788796a5b4c3d2e1f0","type":"seat.deprovision","created":1767225600,"delivery":"dlv_8f8e7d6c5b4a39281706f5e4d3c2b1a0","data":{"member":"bob@example.com","pool":"team-7"}}`,
	`{"id":"evt_ping_00112233445566778899aabbccddeeff","type":"ping","created":1767225600,"delivery":"dlv_7f8e7d6c5b4a39281706f5e4d3c2b1a0","data":{"pool":"team-7"}}`,
	`{"id":"evt_2f1e2d3c4b5a69788796a5b4c3d2e1f0","type":"seat.provision","created":1767225600,"data":{"member":"old@example.com","pool":"team-7"}}`, // an older sender: no delivery
	``,
	"\x00\xff not json",
}

// refVerify is the receiving side of docs/webhooks.md written out plainly:
// exactly one t, a v1 among the pairs equal to the hex HMAC of "<t>.<body>",
// and t within the tolerance of now.
func refVerify(secret []byte, header string, body []byte, now time.Time) bool {
	var (
		ts   []string
		sigs []string
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
		case k == "t":
			ts = append(ts, v)
		case k == "v1":
			sigs = append(sigs, v)
		}
	}
	if len(ts) != 1 {
		return false
	}
	n, err := strconv.ParseInt(ts[0], 10, 64)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(n, 10) + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	match := false
	for _, s := range sigs {
		match = match || strings.EqualFold(s, want)
	}
	d := now.Sub(time.Unix(n, 0))
	return match && d <= DefaultTolerance && d >= -DefaultTolerance
}

// isVerifyError reports whether err is one of Verify's documented failures.
func isVerifyError(err error) bool {
	return errors.Is(err, ErrNoSignature) || errors.Is(err, ErrBadSignature) || errors.Is(err, ErrStale)
}

// FuzzSignVerify: a signature made by Sign verifies, at either edge of the
// tolerance; it fails once stale, under another secret, and after any
// single-byte change to the body or to the header (its timestamp or its
// signature), short of changing the case of a hex digit.
func FuzzSignVerify(f *testing.F) {
	for i, b := range fuzzBodies {
		f.Add([]byte(b), fuzzNow.Unix(), []byte(fuzzSecret), uint16(i*7), byte(1), uint16(i*11), byte('0'))
	}
	f.Add([]byte("{}"), int64(0), []byte("k"), uint16(0), byte(0x80), uint16(2), byte('1'))
	f.Add([]byte("x"), int64(-62135596800), []byte(""), uint16(0), byte(0xff), uint16(3), byte('+'))
	f.Add([]byte("x"), int64(9223372036854775807), []byte(strings.Repeat("s", 100)), uint16(1), byte(2), uint16(40), byte('A'))
	f.Fuzz(func(t *testing.T, body []byte, ts int64, secret []byte, pos uint16, flip byte, hpos uint16, hbyte byte) {
		at := time.Unix(ts, 0)
		h := Sign(secret, at, body)
		if err := Verify(secret, h, body, at, 0); err != nil {
			t.Fatalf("Verify(Sign(t=%d)) at t: %v", ts, err)
		}
		if ts > -1<<40 && ts < 1<<40 { // the tolerance's edges, where times add up
			for _, d := range []time.Duration{DefaultTolerance, -DefaultTolerance} {
				if err := Verify(secret, h, body, at.Add(d), 0); err != nil {
					t.Fatalf("Verify %v from the signature: %v", d, err)
				}
			}
			for _, d := range []time.Duration{DefaultTolerance + time.Second, -DefaultTolerance - time.Second} {
				if err := Verify(secret, h, body, at.Add(d), 0); !errors.Is(err, ErrStale) {
					t.Fatalf("Verify %v from the signature = %v, want ErrStale", d, err)
				}
			}
		}
		other := append(bytes.Clone(secret), 'x')
		if err := Verify(other, h, body, at, 0); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify with another secret = %v, want ErrBadSignature", err)
		}
		if len(body) > 0 {
			b := bytes.Clone(body)
			b[int(pos)%len(b)] ^= max(flip, 1)
			if err := Verify(secret, h, b, at, 0); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify of a body changed at %d = %v, want ErrBadSignature", int(pos)%len(b), err)
			}
			if err := Verify(secret, h, body[:len(body)-1], at, 0); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify of a truncated body = %v, want ErrBadSignature", err)
			}
		}
		if err := Verify(secret, h, append(bytes.Clone(body), '\n'), at, 0); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify of a body with a byte appended = %v, want ErrBadSignature", err)
		}
		i := int(hpos) % len(h)
		if h[i] == hbyte {
			return
		}
		changed := h[:i] + string([]byte{hbyte}) + h[i+1:]
		err := Verify(secret, changed, body, at, 0)
		if err == nil && !(i >= strings.Index(h, "v1=")+3 && strings.EqualFold(changed, h)) {
			t.Fatalf("Verify accepted %q, the header %q changed at %d", changed, h, i)
		}
		if err != nil && !isVerifyError(err) {
			t.Fatalf("Verify(%q) = %v, not a verification error", changed, err)
		}
	})
}

// FuzzVerifyHeader: whatever the Berth-Signature header, Verify never
// panics, fails only with its documented errors, and accepts only a header
// with exactly one timestamp within the tolerance and a v1 equal to the
// signature of that timestamp and the body. ReplayGuard.Accept accepts no
// more than Verify, and a second time not at all.
func FuzzVerifyHeader(f *testing.F) {
	for i, b := range fuzzBodies {
		h := Sign([]byte(fuzzSecret), fuzzNow, []byte(b))
		v1 := h[strings.Index(h, "v1="):]
		f.Add(h, []byte(b), int32(i*60))
		f.Add(" "+strings.ReplaceAll(h, ",", " , ")+" ", []byte(b), int32(0))
		f.Add("t=1767225600,v1=00ff,"+v1, []byte(b), int32(-299))
		f.Add("t=1767225600,v0=abc,"+v1+",v2=zz", []byte(b), int32(301))
		f.Add("t=1767225600,t=1767225600,"+v1, []byte(b), int32(0))
		f.Add("t=+1767225600,"+strings.ToUpper(v1), []byte(b), int32(0))
		f.Add("t=01767225600,"+v1, []byte(b), int32(0))
	}
	for _, h := range []string{"", ",", "t=", "v1=", "t=1,v1=", "t=abc,v1=" + strings.Repeat("ab", 32), "t=99999999999999999999,v1=00",
		"t=-9223372036854775808,v1=" + strings.Repeat("0", 64), "t=1767225600;v1=abc", "t=1767225600,v1=" + strings.Repeat("g", 64)} {
		f.Add(h, []byte("{}"), int32(0))
	}
	f.Fuzz(func(t *testing.T, header string, body []byte, skew int32) {
		now := fuzzNow.Add(time.Duration(skew) * time.Second)
		err := Verify([]byte(fuzzSecret), header, body, now, 0)
		want := refVerify([]byte(fuzzSecret), header, body, now)
		if (err == nil) != want {
			t.Fatalf("Verify(%q) at %+ds = %v, want ok=%v", header, skew, err, want)
		}
		if err != nil && (!isVerifyError(err) || strings.Contains(err.Error(), fuzzSecret)) {
			t.Fatalf("Verify(%q) = %v", header, err)
		}
		var g ReplayGuard
		ev, aerr := g.Accept([]byte(fuzzSecret), header, body, now)
		switch {
		case aerr == nil && err != nil:
			t.Fatalf("Accept took %q, which Verify rejects: %v", header, err)
		case aerr == nil:
			var want Event
			if json.Unmarshal(body, &want) != nil || ev != want {
				t.Fatalf("Accept gave %+v for %q", ev, body)
			}
			if _, err := g.Accept([]byte(fuzzSecret), header, body, now); !errors.Is(err, ErrReplay) {
				t.Fatalf("Accept of the same request again = %v, want ErrReplay", err)
			}
		case err == nil && json.Valid(body) && json.Unmarshal(body, new(Event)) == nil:
			t.Fatalf("Accept refused a verified event %q: %v", body, aerr)
		}
	})
}

// FuzzReplayGuard: once a delivery is accepted, the same signed body is
// never accepted again within the window, however its header is dressed up
// (spaces, other schemes, more v1 values, upper-case hex) and whenever it
// comes back; a request signed anew for the same body with another
// timestamp, which only the secret's holder can make, is a new delivery
// only when the event names no delivery.
func FuzzReplayGuard(f *testing.F) {
	for i, b := range fuzzBodies {
		f.Add([]byte(b), "", "", int16(i*30), true)
		f.Add([]byte(b), " ", " ", int16(299), false)
		f.Add([]byte(b), "v0=legacy,", ",v1="+strings.Repeat("00", 32), int16(-299), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, prefix, suffix string, skew int16, upper bool) {
		var g ReplayGuard
		h := Sign([]byte(fuzzSecret), fuzzNow, body)
		ev, err := g.Accept([]byte(fuzzSecret), h, body, fuzzNow)
		if err != nil {
			if json.Unmarshal(body, new(Event)) == nil {
				t.Fatalf("Accept of a signed event %q: %v", body, err)
			}
			return
		}
		replay := prefix + h + suffix
		if upper {
			replay = prefix + h[:strings.Index(h, "v1=")+3] + strings.ToUpper(h[strings.Index(h, "v1=")+3:]) + suffix
		}
		at := fuzzNow.Add(time.Duration(skew) * time.Second)
		if _, err := g.Accept([]byte(fuzzSecret), replay, body, at); err == nil {
			t.Fatalf("a replay of %q with header %q was accepted %+ds later", body, replay, skew)
		} else if Verify([]byte(fuzzSecret), replay, body, at, 0) == nil && !errors.Is(err, ErrReplay) {
			t.Fatalf("a replay with a valid signature = %v, want ErrReplay", err)
		}
		// Signed anew one second later: berth never does this for one
		// delivery; for an event without a delivery it is how an older
		// sender retries.
		again := Sign([]byte(fuzzSecret), fuzzNow.Add(time.Second), body)
		_, err = g.Accept([]byte(fuzzSecret), again, body, fuzzNow.Add(time.Second))
		if ev.Delivery != "" && !errors.Is(err, ErrReplay) {
			t.Fatalf("delivery %q signed anew = %v, want ErrReplay", ev.Delivery, err)
		}
		if ev.Delivery == "" && err != nil {
			t.Fatalf("an event without a delivery signed anew = %v, want it accepted", err)
		}
	})
}

// fuzzAnswer is one fuzzed answer of a receiver.
type fuzzAnswer struct {
	status     int
	retryAfter string
	location   string
	body       []byte
	hang       bool
}

// headerValue is a header value HTTP allows, with the receiver's echo of
// the secret made the secret itself.
func headerValue(s string) string {
	return providertest.HeaderValue(strings.ReplaceAll(s, echoSecret, fuzzSecret))
}

// FuzzDeliveryAnswer: whatever a receiver answers (status, Retry-After,
// Location, body, or nothing before the timeout), every delivery it gets
// is correctly signed, and the answer is classified as documented: 2xx
// done; 401, 403 and redirects pool-permanent; 408, 429, 5xx and timeouts
// retryable with the Retry-After given; any other 4xx member-permanent, or
// pool-permanent for a ping. No error contains the secret or runs long.
func FuzzDeliveryAnswer(f *testing.F) {
	var (
		mu   sync.Mutex
		cur  fuzzAnswer
		got  []delivery
		done = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := readAll(r)
		mu.Lock()
		a := cur
		got = append(got, delivery{r.Header.Clone(), body})
		mu.Unlock()
		if a.hang {
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		if v := headerValue(a.retryAfter); v != "" {
			w.Header().Set("Retry-After", v)
		}
		if v := headerValue(a.location); v != "" {
			w.Header().Set("Location", v)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(bytes.ReplaceAll(a.body, []byte(echoSecret), []byte(fuzzSecret)))
	}))
	f.Cleanup(func() { close(done); srv.Close() })
	p, err := New("team-7", Config{URL: srv.URL + "/hook", Secret: fuzzSecret, Timeout: 200 * time.Millisecond, Egress: loopback})
	if err != nil {
		f.Fatal(err)
	}
	slow, err := New("team-7", Config{URL: srv.URL + "/hook", Secret: fuzzSecret, Timeout: 50 * time.Millisecond, Egress: loopback})
	if err != nil {
		f.Fatal(err)
	}
	date := "Thu, 01 Jan 2099 00:00:00 GMT"
	for _, s := range []struct {
		status     int
		retryAfter string
		location   string
		body       string
		ping, hang bool
	}{
		{200, "", "", `{"ok":true}`, false, false},
		{202, "", "", ``, false, false},
		{204, "", "", ``, true, false},
		{400, "", "", `unknown event type`, false, false},
		{401, "", "", `bad signature: want secret ` + echoSecret, false, false},
		{403, "", "", `forbidden`, true, false},
		{404, "", "", `<html>Not Found</html>`, true, false},
		{409, "", "", `replayed delivery`, false, false},
		{408, "", "", ``, false, false},
		{429, "3", "", `slow down`, false, false},
		{429, date, "", ``, false, false},
		{429, "soon", "", ``, false, false},
		{500, "", "", `panic: ` + echoSecret, false, false},
		{503, "2", "", strings.Repeat("unavailable ", 100), false, false},
		{302, "", "https://elsewhere.example/hook", ``, false, false},
		{307, "", "https://login.example/?key=" + echoSecret, ``, true, false},
		{301, "", "://not a url " + echoSecret, ``, false, false},
		{308, "", strings.Repeat("https://x.example/", 300), ``, false, false},
		{200, "", "", ``, false, true},
	} {
		f.Add(s.status, s.retryAfter, s.location, []byte(s.body), s.ping, s.hang)
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter, location string, body []byte, ping, hang bool) {
		a := fuzzAnswer{providertest.FoldStatus(status), retryAfter, location, body, hang}
		mu.Lock()
		cur, got = a, nil
		mu.Unlock()
		q := p
		if hang {
			q = slow
		}
		before := time.Now()
		var err error
		if ping {
			err = q.Check(context.Background())
		} else {
			err = q.Put(context.Background(), provider.Member{ID: "ada@example.com"})
		}
		after := time.Now()

		mu.Lock()
		sent := got
		mu.Unlock()
		timeout := err != nil && strings.Contains(err.Error(), "timed out after")
		if len(sent) > 1 || (len(sent) == 0 && !timeout) {
			t.Fatalf("%d deliveries for one call, want 1", len(sent))
		}
		for _, d := range sent {
			if err := Verify([]byte(fuzzSecret), d.header.Get(SignatureHeader), d.body, after, 0); err != nil {
				t.Fatalf("the delivery does not verify: %v", err)
			}
		}
		if err == nil {
			if hang || a.status < 200 || a.status > 299 {
				t.Fatalf("HTTP %d (hang %v): success", a.status, hang)
			}
			return
		}
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Fatalf("%v (%T) is not a *provider.Error", err, err)
		}
		if msg := err.Error(); strings.Contains(msg, fuzzSecret) || len(msg) > 4096 {
			t.Fatalf("the error contains the secret or is %d bytes long: %.300q", len(msg), msg)
		}
		s := a.status
		want := provider.MemberPermanent
		wait := time.Duration(0)
		switch {
		case hang || timeout:
			// A timeout; a loaded machine may hit it for a quick answer too.
			want = provider.Retryable
		case s >= 200 && s <= 299:
			t.Fatalf("HTTP %d: %v, want success", s, err)
		case s == 401 || s == 403:
			want = provider.PoolPermanent
		case s == 429 || s == 408 || s >= 500:
			want = provider.Retryable
			lo, hi := provider.RetryAfter(headerValue(retryAfter), after), provider.RetryAfter(headerValue(retryAfter), before)
			if pe.RetryAfter < lo || pe.RetryAfter > hi {
				t.Fatalf("HTTP %d Retry-After %q: RetryAfter %v, want %v…%v", s, headerValue(retryAfter), pe.RetryAfter, lo, hi)
			}
			wait = pe.RetryAfter
		case s >= 300 && s < 400 && strings.Contains(err.Error(), "failed to parse Location header"):
			want = provider.Retryable // Go's client cannot read the Location
		case s >= 300 && s < 400:
			want = provider.PoolPermanent
		case ping:
			want = provider.PoolPermanent
		}
		if pe.Class != want {
			t.Fatalf("HTTP %d (ping %v, hang %v): class %v, want %v: %v", s, ping, hang, pe.Class, want, err)
		}
		if pe.RetryAfter != wait {
			t.Fatalf("HTTP %d: RetryAfter %v, want %v", s, pe.RetryAfter, wait)
		}
	})
}

// readAll reads a request's body.
func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}
