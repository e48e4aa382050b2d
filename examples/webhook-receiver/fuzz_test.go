package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/provider/webhook"
)

// Fuzz tests of how the example receiver checks what it is sent: only a
// correctly signed, fresh request that was not received before gets
// through, and berth's own deliveries always do.

// fuzzNow is the receiver's clock in the fuzz tests.
var fuzzNow = time.Unix(1_767_225_600, 0)

// fuzzBodies are deliveries as berth sends them, and some that are not.
var fuzzBodies = []string{
	`{"id":"evt_0f1e2d3c4b5a69788796a5b4c3d2e1f0","type":"seat.provision","created":1767225600,"delivery":"dlv_9f8e7d6c5b4a39281706f5e4d3c2b1a0","data":{"member":"ada@example.com","pool":"team-7"}}`,
	`{"id":"evt_1f1e2d3c4b5a69788796a5b4c3d2e1f0","type":"seat.deprovision","created":1767225600,"delivery":"dlv_8f8e7d6c5b4a39281706f5e4d3c2b1a0","data":{"member":"ada@example.com","pool":"team-7"}}`,
	`{"id":"evt_ping_00112233445566778899aabbccddeeff","type":"ping","created":1767225600,"delivery":"dlv_7f8e7d6c5b4a39281706f5e4d3c2b1a0","data":{"pool":"team-7"}}`,
	`{"id":"evt_3","type":"seat.suspend","created":1767225600,"delivery":"dlv_3","data":{"member":"ada@example.com","pool":"team-7"}}`,
	`{"id":"evt_4","type":"seat.provision","created":1767225600,"data":{"member":"ada@example.com","pool":"team-7"}}`,
	`{"id":"evt_5","type":"seat.provision","delivery":"dlv_5","created":"soon"}`,
	`null`,
	``,
	"\x00\xff not json",
}

// signedWith reports whether header carries, as the receiver reads it (the
// last t, every v1), a v1 equal to the HMAC of "<t>.<body>" under secret
// and a t within Tolerance of now.
func signedWith(secret []byte, header string, body []byte, now time.Time) bool {
	var (
		ts   string
		sigs []string
	)
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	ok := false
	for _, s := range sigs {
		b, err := hex.DecodeString(s)
		ok = ok || (err == nil && hmac.Equal(b, want))
	}
	d := now.Sub(time.Unix(sec, 0))
	return ok && d <= Tolerance && d >= -Tolerance
}

// FuzzReceiverVerify: whatever the header, Verify never panics and accepts
// only a signature of the body under the secret, made within the
// tolerance, returning its time; every header berth's webhook.Sign makes
// within the tolerance is accepted.
func FuzzReceiverVerify(f *testing.F) {
	for i, b := range fuzzBodies {
		h := webhook.Sign([]byte(secret), fuzzNow, []byte(b))
		v1 := h[strings.Index(h, "v1="):]
		f.Add(h, []byte(b), int32(i*60))
		f.Add(" "+strings.ReplaceAll(h, ",", " , ")+" ", []byte(b), int32(300))
		f.Add("t=1767225600,v1=00ff,v0=abc,"+v1, []byte(b), int32(-301))
		f.Add("t=1,"+h, []byte(b), int32(0))
		f.Add(h+",t=1", []byte(b), int32(0))
		f.Add("t=+1767225600,"+strings.ToUpper(v1), []byte(b), int32(0))
	}
	for _, h := range []string{"", ",", "t", "t=", "v1=", "t=1,v1=", "t=abc,v1=" + strings.Repeat("ab", 32),
		"t=99999999999999999999,v1=00", "t=-9223372036854775808,v1=" + strings.Repeat("0", 64), "t=1767225600;v1=abc"} {
		f.Add(h, []byte("{}"), int32(0))
	}
	f.Fuzz(func(t *testing.T, header string, body []byte, skew int32) {
		now := fuzzNow.Add(time.Duration(skew) * time.Second)
		at, err := Verify([]byte(secret), header, body, now)
		if want := signedWith([]byte(secret), header, body, now); (err == nil) != want {
			t.Fatalf("Verify(%q) at %+ds = %v, want ok=%v", header, skew, err, want)
		}
		if err != nil {
			if err != errSignature && err != errStale {
				t.Fatalf("Verify(%q) = %v", header, err)
			}
		} else if d := now.Sub(at); d > Tolerance || d < -Tolerance {
			t.Fatalf("Verify(%q) at %v gave %v", header, now, at)
		}
		// What berth sends passes exactly while fresh.
		signed := webhook.Sign([]byte(secret), now.Add(-time.Duration(skew)*time.Second), body)
		_, err = Verify([]byte(secret), signed, body, now)
		if fresh := skew >= -300 && skew <= 300; (err == nil) != fresh {
			t.Fatalf("Verify of berth's signature %+ds old = %v", skew, err)
		}
		if err == nil && webhook.Verify([]byte(secret), signed, body, now, Tolerance) != nil {
			t.Fatalf("the receiver and webhook.Verify disagree on %q", signed)
		}
	})
}

// FuzzReceiverRequest: whatever the body and Berth-Signature of a request,
// the receiver answers 2xx only to a correctly signed, fresh berth event
// with a delivery, applies only provisions and deprovisions so answered,
// and refuses the same request (or its header dressed up) a second time
// without applying it again. With sign set the body is signed as berth
// does, skew seconds before the receiver's clock, and header is appended
// to the signature.
func FuzzReceiverRequest(f *testing.F) {
	for i, b := range fuzzBodies {
		f.Add([]byte(b), "", true, int16(i*30))
		f.Add([]byte(b), ",v0=legacy", true, int16(-120))
		f.Add([]byte(b), "", true, int16(301))
		f.Add([]byte(b), webhook.Sign([]byte(secret), fuzzNow, []byte(b)), false, int16(0))
		f.Add([]byte(b), webhook.Sign([]byte("another-secret-0123456789"), fuzzNow, []byte(b)), false, int16(0))
	}
	f.Add([]byte(fuzzBodies[0]), ",t=1767225601", true, int16(0))
	f.Fuzz(func(t *testing.T, body []byte, header string, sign bool, skew int16) {
		var applied []Event
		rc := &Receiver{Secret: []byte(secret), Now: func() time.Time { return fuzzNow }, Apply: func(ev Event) error {
			applied = append(applied, ev)
			return nil
		}}
		if sign {
			header = webhook.Sign([]byte(secret), fuzzNow.Add(-time.Duration(skew)*time.Second), body) + header
		}
		send := func(h string) int {
			r := httptest.NewRequest("POST", "/berth-hook", strings.NewReader(string(body)))
			r.Header.Set("Content-Type", "application/json")
			if h != "" {
				r.Header.Set("Berth-Signature", h)
			}
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, r)
			return w.Code
		}
		code := send(header)

		var ev Event
		event := json.Unmarshal(body, &ev) == nil && ev.Delivery != ""
		known := ev.Type == "ping" || ev.Type == "seat.provision" || ev.Type == "seat.deprovision"
		valid := signedWith([]byte(secret), header, body, fuzzNow)
		ok := code >= 200 && code <= 299
		switch {
		case ok && !valid:
			t.Fatalf("HTTP %d for a request not correctly signed: %q", code, header)
		case ok && !(event && known):
			t.Fatalf("HTTP %d for %q, not a berth event", code, body)
		case !valid && code != http.StatusUnauthorized:
			t.Fatalf("HTTP %d, want 401 for the signature %q", code, header)
		case valid && (!event || !known) && code != http.StatusBadRequest:
			t.Fatalf("HTTP %d, want 400 for %q", code, body)
		case valid && event && known && !ok:
			t.Fatalf("HTTP %d for a signed, fresh event %q", code, body)
		}
		provision := ev.Type == "seat.provision" || ev.Type == "seat.deprovision"
		if n := len(applied); n > 1 || (n == 1 && !(ok && provision)) || (n == 0 && ok && provision) {
			t.Fatalf("applied %d events after HTTP %d for %q", n, code, body)
		}
		if len(applied) == 1 && applied[0] != ev {
			t.Fatalf("applied %+v, sent %+v", applied[0], ev)
		}
		if !valid || !event {
			return
		}
		// The same delivery again, as it was and dressed up: a replay.
		for _, h := range []string{header, " " + header + " ", header + ",v0=x"} {
			if code := send(h); code != http.StatusConflict {
				t.Fatalf("a replay with header %q: HTTP %d, want 409", h, code)
			}
		}
		if len(applied) > 1 {
			t.Fatalf("a replay was applied: %+v", applied)
		}
	})
}
