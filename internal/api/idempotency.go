package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/berthhq/berth/internal/auth"
)

// idempotencyHeader names the header a client sends to make a batch route
// safe to retry: POST /api/v1/codes/batch and POST /api/v1/accounts/batch.
const idempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds a key's length (a UUID is 36 characters).
const maxIdempotencyKey = 255

// requestHash is what identifies a request behind an Idempotency-Key: the
// SHA-256 of its decoded parts, each with its length. Decoded, not raw: a
// client's retry of a multipart upload picks a new boundary.
func requestHash(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(p))))
		h.Write(p)
	}
	return h.Sum(nil)
}

// idempotent answers a request with what work returns (a status and a
// JSON body) and, when the request carries an Idempotency-Key, runs work
// at most once for that key, caller and route within store.IdempotencyTTL:
// a retry gets the first answer again (status and body, with
// Idempotency-Replayed: true), the same key on another request (hash
// differs) 422, and a retry while the first request still runs 409 with
// Retry-After.
//
// The key is written (in progress) before work runs and given the answer
// right after, not in work's own transaction: the services (codebook,
// alloc) own their transactions, and a whole account batch is several. So
// a concurrent duplicate never waits on a lock nor runs the work a second
// time: it gets 409 "in progress". A server that stops between the two
// leaves the key in progress until it expires; the client then retries
// with a new key after looking (GET /api/v1/codes, /api/v1/accounts),
// since berth cannot tell whether the work was done.
//
// When work fails, the key is freed: both services refuse before writing
// (codes are one transaction; an account batch's later failure leaves
// accounts that a retry reports as duplicates, never places twice), so a
// retry, corrected or not, may run again.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, hash []byte, work func() (int, any, error)) error {
	key := r.Header.Get(idempotencyHeader)
	if key == "" {
		status, body, err := work()
		if err != nil {
			return err
		}
		writeJSON(w, status, body)
		return nil
	}
	if !validIdempotencyKey(key) {
		return badRequest(idempotencyHeader + " must be 1 to " + strconv.Itoa(maxIdempotencyKey) + " printable ASCII characters")
	}
	ctx := r.Context()
	caller, route := idempotencyCaller(r), r.Pattern
	rec, held, err := s.st.IdemBegin(ctx, caller, route, key, hash)
	if err != nil {
		return err
	}
	if !held {
		switch {
		case !bytes.Equal(rec.Hash, hash):
			return errStatus(http.StatusUnprocessableEntity, idempotencyHeader+" "+strconv.Quote(key)+" was used for another request; use a new key for this one")
		case rec.Status == 0:
			w.Header().Set("Retry-After", "1")
			return errStatus(http.StatusConflict, "a request with this "+idempotencyHeader+" is in progress; retry later (if its server stopped before answering, check what it did and use a new key)")
		}
		noteAudit(r, map[string]any{"idempotency_key": key, "replayed": true})
		w.Header().Set("Idempotency-Replayed", "true")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Status)
		w.Write(rec.Body)
		return nil
	}
	// The key is ours: whatever happens to the request now, its row is
	// finished or dropped.
	bg := context.WithoutCancel(ctx)
	status, body, err := work()
	if err != nil {
		if derr := s.st.IdemDrop(bg, caller, route, key); derr != nil {
			s.log.Error("idempotency key not freed", "request_id", requestID(r), "err", derr)
		}
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(body); err != nil {
		return err
	}
	if err := s.st.IdemFinish(bg, caller, route, key, status, buf.Bytes()); err != nil {
		// The work is done: answer it. A retry finds the key in progress
		// (409) rather than doing the work twice.
		s.log.Error("idempotency key answer not stored", "request_id", requestID(r), "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// idempotencyCaller names the caller a key belongs to: the user (any of
// their sessions and tokens), or the admin token.
func idempotencyCaller(r *http.Request) string {
	u, _ := auth.FromContext(r.Context())
	return strconv.FormatInt(u.ID, 10) + ":" + u.Name
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
