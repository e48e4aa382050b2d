// Command webhook-receiver is an example receiver of berth's webhook
// provider (docs/webhooks.md). It verifies every delivery's signature and
// timestamp, rejects replayed and altered requests, applies each operation
// once, and keeps the team's members in memory, printing what it does.
//
// It uses the Go standard library only, so that it can be copied into any
// project:
//
//	BERTH_WEBHOOK_SECRET=… go run ./examples/webhook-receiver -listen 127.0.0.1:8080
//
// and the team's provider settings in berth are then
// {"type":"webhook","url":"https://…/berth-hook","secret":"…"}, behind a
// TLS-terminating proxy (berth accepts plain http only on loopback).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event is the JSON body berth sends.
type Event struct {
	ID       string `json:"id"`       // idempotency key: the same for every attempt of one operation
	Type     string `json:"type"`     // "seat.provision", "seat.deprovision" or "ping"
	Created  int64  `json:"created"`  // when this attempt was signed (Unix seconds)
	Delivery string `json:"delivery"` // unique per attempt
	Data     struct {
		Member string `json:"member"` // the user's e-mail address
		Pool   string `json:"pool"`   // the team's name in berth
	} `json:"data"`
}

// Tolerance is how far a signature's timestamp may be from our clock.
const Tolerance = 5 * time.Minute

var (
	errSignature = errors.New("bad signature")
	errStale     = errors.New("timestamp outside the tolerance")
)

// Verify checks the Berth-Signature header, "t=<unix>,v1=<hex>", against the
// raw body: one v1 must be HMAC-SHA256(secret, "<t>.<body>"), compared in
// constant time, and t must be within Tolerance of now. It returns t.
func Verify(secret []byte, header string, body []byte, now time.Time) (time.Time, error) {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return time.Time{}, errSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok
	}
	if !ok {
		return time.Time{}, errSignature
	}
	t := time.Unix(sec, 0)
	if d := now.Sub(t); d > Tolerance || d < -Tolerance {
		return time.Time{}, errStale
	}
	return t, nil
}

// Receiver is an http.Handler for berth's deliveries.
type Receiver struct {
	Secret []byte
	// Apply performs an operation; an error makes berth try again later.
	Apply func(Event) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu         sync.Mutex
	deliveries map[string]time.Time // delivery id → when it can be forgotten
	last       map[string]lastOp    // pool+member → the last operation applied
}

type lastOp struct {
	id      string
	created int64
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	now := time.Now()
	if rc.Now != nil {
		now = rc.Now()
	}
	// 1. Read the raw body: the signature covers its exact bytes.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	// 2. Verify the signature and the timestamp. 401 tells berth that the
	// secret (or its clock) is wrong: it marks the team credential_invalid.
	t, err := Verify(rc.Secret, r.Header.Get("Berth-Signature"), body, now)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Delivery == "" {
		http.Error(w, "not a berth event", http.StatusBadRequest)
		return
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.deliveries == nil {
		rc.deliveries, rc.last = map[string]time.Time{}, map[string]lastOp{}
	}
	// 3. Reject a replay: berth never sends one delivery twice. Deliveries
	// are remembered until their timestamp is too old to pass step 2.
	for id, until := range rc.deliveries {
		if now.After(until) {
			delete(rc.deliveries, id)
		}
	}
	if _, seen := rc.deliveries[ev.Delivery]; seen {
		http.Error(w, "replayed delivery", http.StatusConflict)
		return
	}
	rc.deliveries[ev.Delivery] = t.Add(Tolerance + time.Second)

	switch ev.Type {
	case "ping":
		w.WriteHeader(http.StatusNoContent)
		return
	case "seat.provision", "seat.deprovision":
	default:
		http.Error(w, "unknown event type "+ev.Type, http.StatusBadRequest)
		return
	}
	// 4. Deduplicate retries: the same id as the last operation applied to
	// this member is a retry whose answer got lost; an older operation
	// arriving late is outdated. Either way: 200, nothing to do.
	key := ev.Data.Pool + "\x00" + ev.Data.Member
	if prev, ok := rc.last[key]; ok && (prev.id == ev.ID || ev.Created < prev.created) {
		w.WriteHeader(http.StatusOK)
		return
	}
	// 5. Apply. A failure answers 500, and berth retries.
	if err := rc.Apply(ev); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rc.last[key] = lastOp{id: ev.ID, created: ev.Created}
	w.WriteHeader(http.StatusOK)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	path := flag.String("path", "/berth-hook", "URL path of the hook")
	flag.Parse()
	secret := os.Getenv("BERTH_WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("set BERTH_WEBHOOK_SECRET to the team's webhook secret")
	}
	var mu sync.Mutex
	members := map[string]bool{}
	rc := &Receiver{Secret: []byte(secret), Apply: func(ev Event) error {
		mu.Lock()
		defer mu.Unlock()
		// Here a real receiver invites or removes the user in its system.
		members[ev.Data.Member] = ev.Type == "seat.provision"
		fmt.Printf("%s %s on %s\n", ev.Type, ev.Data.Member, ev.Data.Pool)
		return nil
	}}
	mux := http.NewServeMux()
	mux.Handle(*path, rc)
	log.Printf("listening on http://%s%s", *listen, *path)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
