package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/httpx/decode"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance,omitempty"`
}

// errStatus and badRequest make an error carrying a status and a message
// safe to show the caller (a *decode.Error, as the body decoders return).
var (
	errStatus  = decode.Status
	badRequest = decode.BadRequest
)

// writeProblem maps an error to problem+json. Errors the caller can fix keep
// their text; anything else is logged and answered with a generic 500, so
// no SQL or internal detail leaks.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	status, detail := http.StatusInternalServerError, "internal error; the server log has details (request id "+requestID(r)+")"
	var he *decode.Error
	var re *alloc.RateError
	if errors.As(err, &he) {
		status, detail = he.Status, he.Detail
	} else if k, st := httpx.ErrorStatus(err); k != alloc.KindInternal {
		// The service's error vocabulary (alloc/errkind.go), its status
		// given in one place for the API and the console (package httpx).
		status, detail = st, err.Error()
		if errors.As(err, &re) {
			w.Header().Set("Retry-After", strconv.Itoa(int(re.RetryAfter.Seconds()+0.999)))
		}
	}
	if status >= 500 {
		// The route's pattern, not the path: paths may hold codes.
		logOf(r).ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.Pattern, "request_id", requestID(r), "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Instance: r.URL.Path})
}

type logKey struct{}

// withLog puts the server's logger in ctx, for writeProblem.
func withLog(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, logKey{}, log)
}

// logOf is the logger ServeHTTP put in r's context (slog.Default for a
// handler called directly, as some tests do).
func logOf(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decodeJSON reads a JSON body of at most max bytes, refusing unknown fields
// and a body of another type (415; checkBodyType refuses it first on every
// route of the table).
var decodeJSON = decode.JSON
