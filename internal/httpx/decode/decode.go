// Package decode reads request bodies sent from outside: a JSON body of
// bounded size (JSON), and the status error (Error) that its refusals and
// the account upload's (package upload) carry, so the API answers each
// with the right 4xx. It imports only the standard library, so its fuzz
// target builds in seconds.
package decode

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Error carries an HTTP status and a message safe to show the caller.
type Error struct {
	Status int
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// Status returns an *Error of status with detail.
func Status(status int, detail string) error { return &Error{Status: status, Detail: detail} }

// BadRequest returns a 400 *Error with detail.
func BadRequest(detail string) error { return Status(http.StatusBadRequest, detail) }

// JSON reads a JSON body of at most max bytes into v, refusing unknown
// fields, more than one value, and a body of another type than JSON (415).
// Its errors are *Error.
func JSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	if ct := r.Header.Get("Content-Type"); !IsJSONType(ct) {
		return Status(http.StatusUnsupportedMediaType, "the body must be JSON: send Content-Type: application/json (got "+QuoteType(ct)+")")
	}
	r.Body = http.MaxBytesReader(w, r.Body, max)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Status(http.StatusRequestEntityTooLarge, "request body is larger than "+HumanBytes(max))
		}
		return BadRequest("invalid JSON body: " + err.Error())
	}
	if dec.More() {
		return BadRequest("invalid JSON body: more than one JSON value")
	}
	return nil
}

// IsJSONType reports whether a Content-Type header names JSON:
// application/json or any +json type, parameters allowed. A missing header
// counts as JSON (scripts that send none); anything else does not.
func IsJSONType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// QuoteType quotes a Content-Type header for an error message, cut short.
func QuoteType(ct string) string {
	if len(ct) > 80 {
		ct = ct[:80] + "…"
	}
	return strconv.Quote(ct)
}

// HumanBytes writes a size limit as people read it: 1 MiB, 64 KiB, 100 bytes.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
