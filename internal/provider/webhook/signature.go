package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Verification failures. Verify and ReplayGuard.Accept wrap them.
var (
	// ErrNoSignature: the header is missing or has no t= or no v1=.
	ErrNoSignature = errors.New("webhook: missing or malformed " + SignatureHeader + " header")
	// ErrBadSignature: no v1 signature matches the body and the secret.
	ErrBadSignature = errors.New("webhook: signature does not match")
	// ErrStale: the timestamp is further from now than the tolerance.
	ErrStale = errors.New("webhook: timestamp outside the tolerance")
	// ErrReplay: the delivery was accepted before.
	ErrReplay = errors.New("webhook: delivery already received (replay)")
)

// Sign returns the Berth-Signature header value for body signed at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Berth-Signature header against the raw request body: one
// of its v1 signatures must equal HMAC-SHA256(secret, "<t>.<body>")
// (compared in constant time), and t must be within tolerance of now, in
// either direction (zero tolerance means DefaultTolerance). It does not
// detect a replayed request within the tolerance; ReplayGuard does.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	_, err := verify(secret, header, body, now, tolerance)
	return err
}

// verify is Verify, also returning the signature's time.
func verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) (time.Time, error) {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		ts    int64
		haveT bool
		sigs  [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || haveT {
				return time.Time{}, fmt.Errorf("%w: bad t", ErrNoSignature)
			}
			ts, haveT = n, true
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if !haveT || len(sigs) == 0 {
		return time.Time{}, ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return time.Time{}, ErrBadSignature
	}
	t := time.Unix(ts, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return time.Time{}, fmt.Errorf("%w: signed at %s, %v from now (tolerance %v)",
			ErrStale, t.UTC().Format(time.RFC3339), d.Round(time.Second), tolerance)
	}
	return t, nil
}

// ReplayGuard is a receiver's defence against replayed requests: Accept
// verifies a request like Verify and then rejects a delivery it accepted
// before. It remembers each delivery only until its signature's timestamp
// leaves the tolerance, after which Verify rejects it anyway, so its memory
// stays bounded by the traffic of one tolerance window. The zero value is
// ready to use; it is safe for concurrent use. Its memory is one process's:
// receivers running several replicas need a shared store instead.
type ReplayGuard struct {
	// Tolerance is passed to Verify; zero means DefaultTolerance.
	Tolerance time.Duration

	mu        sync.Mutex
	seen      map[string]time.Time // delivery → when it may be forgotten
	lastPrune time.Time
}

// Accept verifies the signature header against the raw body at now,
// decodes the event, and rejects it with ErrReplay if the same delivery was
// accepted before. A retry of the same operation is a new delivery with the
// same Event.ID; it is accepted, and deduplicating it is the receiver's job
// (see docs/webhooks.md).
func (g *ReplayGuard) Accept(secret []byte, header string, body []byte, now time.Time) (Event, error) {
	t, err := verify(secret, header, body, now, g.Tolerance)
	if err != nil {
		return Event{}, err
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("webhook: body is not an event: %v", err)
	}
	key := ev.Delivery
	if key == "" {
		// An older sender: the signature itself is unique enough. Its
		// canonical form, not the header as received, which a replay can
		// dress up (spaces, other schemes, upper-case hex) and still pass.
		key = Sign(secret, t, body)
	}
	tol := g.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	if g.Seen(key, t.Add(tol+time.Second), now) {
		return Event{}, fmt.Errorf("%w: %s", ErrReplay, key)
	}
	return ev, nil
}

// Seen records key until the time until and reports whether it was
// already recorded and not yet forgotten at now.
func (g *ReplayGuard) Seen(key string, until, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[string]time.Time{}
	}
	if now.Sub(g.lastPrune) > time.Minute {
		for k, u := range g.seen {
			if now.After(u) {
				delete(g.seen, k)
			}
		}
		g.lastPrune = now
	}
	if u, ok := g.seen[key]; ok && !now.After(u) {
		return true
	}
	g.seen[key] = until
	return false
}
