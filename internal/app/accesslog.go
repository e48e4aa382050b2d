package app

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/berthhq/berth/internal/api"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/web"
)

// accessLog logs one line per request at info (Config.AccessLog): method,
// the route's pattern, status, duration, bytes answered, client address
// and request id. It never logs the raw path or query: the public routes
// carry redeem codes and emails in them, and so do admin paths such as
// /api/v1/codes/{code}. A path no route matches is logged as the pattern
// of the mux entry that took it ("/" for the JSON API's 404s).
//
// It runs inside the front door, so the client address is the one the
// trusted proxies vouch for, and reads the request id from the answer's
// X-Request-Id header, which the API and the console both set.
func accessLog(log *slog.Logger, pat *patterns, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		cw := httpx.NewStatusWriter(w)
		pattern := pat.of(r)
		defer func() {
			client := r.RemoteAddr
			if host, _, err := net.SplitHostPort(client); err == nil {
				client = host
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("method", r.Method),
				slog.String("path", pattern),
				slog.Int("status", cw.Status()),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.Int64("bytes", cw.Bytes()),
				slog.String("client", client),
				slog.String("request_id", w.Header().Get("X-Request-Id")))
		}()
		next.ServeHTTP(cw, r)
	})
}

// patterns finds the route pattern a request matches without serving it:
// the route tables of the API and the console first, then the top mux's
// own entries (the console's prefixes such as /assets/, "/" for the API).
type patterns struct {
	routes, top *http.ServeMux
}

func newPatterns(top *http.ServeMux, a *api.Server, w *web.Web) *patterns {
	p := &patterns{routes: http.NewServeMux(), top: top}
	none := http.NotFoundHandler()
	for _, rt := range a.Routes() {
		p.routes.Handle(rt.Pattern(), none)
	}
	for _, rt := range w.Routes() {
		p.routes.Handle(rt.Pattern(), none)
	}
	return p
}

func (p *patterns) of(r *http.Request) string {
	if _, pat := p.routes.Handler(r); pat != "" {
		return pat
	}
	_, pat := p.top.Handler(r)
	return pat
}
