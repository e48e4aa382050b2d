package api

import (
	"net/http"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/metrics"
)

// SetMetrics configures /metrics: who may read it (cfg.AllowedNets, by
// default loopback, or a bearer cfg.Token) and its per-pool series cap and
// cache. New starts with metrics.Config{} (the defaults).
func (s *Server) SetMetrics(cfg metrics.Config) {
	if s.st == nil { // a server of the documents alone (tests): no gauges to read
		s.metricsHandler = http.NotFoundHandler()
		return
	}
	if cfg.Health == nil && s.svc != nil {
		cfg.Health = s.healthScores // berth_pool_health_score
	}
	h := metrics.NewHandler(s.st, s.log, cfg)
	s.metricsHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The client address: the host of r.RemoteAddr, which the
		// clientip middleware has set from X-Forwarded-For when the peer
		// is a trusted proxy.
		if err := cfg.Permit(auth.RemoteIP(r), r.Header.Get("Authorization")); err != nil {
			writeProblem(w, r, errStatus(http.StatusForbidden, err.Error()))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// metrics serves GET /metrics to the clients SetMetrics allows.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	s.metricsHandler.ServeHTTP(w, r)
	return nil
}

// healthScores is the health score of every pool with outcomes on record
// in this process (alloc.Service.PoolHealths).
func (s *Server) healthScores() map[int64]float64 {
	reports := s.svc.PoolHealths()
	out := make(map[int64]float64, len(reports))
	for id, r := range reports {
		out[id] = r.Score
	}
	return out
}
