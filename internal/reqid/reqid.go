// Package reqid carries a request (or job) id in a context and into every
// log line written with that context.
//
// The HTTP layers put the id of each request in its context (taking a sane
// X-Request-Id from the client, else a fresh one); the job queue puts
// "job-<kind>-<id>" in the context of each job it works. Loggers built on
// Handler then add request_id to every record logged with a *Context
// method, however deep in the call the log line is written.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// New returns a fresh random id (16 hex digits).
func New() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// FromClient returns the id a client sent in X-Request-Id when it is
// short and plain (letters, digits, '-', '_', '.'; at most 64), else a
// fresh one: a client's id must not be able to forge log lines.
func FromClient(v string) string {
	if v == "" || len(v) > 64 {
		return New()
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return New()
		}
	}
	return v
}

// Handler wraps h so that records logged with a context carrying an id get
// a request_id attribute (unless the call already gave one).
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "request_id"
			return !has
		})
		if !has {
			r = r.Clone()
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.Handler.WithAttrs(as)} }
func (h handler) WithGroup(name string) slog.Handler    { return handler{h.Handler.WithGroup(name)} }
