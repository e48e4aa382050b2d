package api

import (
	"errors"
	"net/http"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/store"
)

// SetMetrics configures /metrics: who may read it (cfg.AllowedNets, by
// default loopback, or a bearer cfg.Token) and its per-pool series cap and
// cache. New starts with metrics.Config{} (the defaults).
func (s *Server) SetMetrics(cfg metrics.Config) {
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

// The outcomes of the public routes, named for the metrics (package
// metrics cannot import alloc, which it times).

// callerError reports whether err is the caller's mistake (a 4xx answer).
func callerError(err error) bool {
	var he *httpError
	return errors.As(err, &he) || errors.Is(err, alloc.ErrCodeNotValid) || errors.Is(err, alloc.ErrCodeDisabled) ||
		errors.Is(err, alloc.ErrCodeExpired) || errors.Is(err, alloc.ErrCodeUsedUp) || errors.Is(err, alloc.ErrNoSeat) ||
		errors.Is(err, alloc.ErrMoveInProgress) || errors.Is(err, alloc.ErrInvalid) || errors.Is(err, store.ErrNotFound)
}

// rebindStatus is the status label of rebind_requests_total for a move
// request that ended with err.
func rebindStatus(err error) string {
	var re *alloc.RateError
	var le *alloc.LimitError
	switch {
	case err == nil:
		return metrics.RebindSuccess
	case errors.As(err, &re):
		return metrics.RebindRateLimited
	case errors.As(err, &le):
		return metrics.RebindLimit
	case callerError(err):
		return metrics.RebindRejected
	}
	return metrics.RebindFailed
}

// redeemOutcome is the outcome label of berth_redeem_requests_total.
func redeemOutcome(res alloc.SeatStatus, err error) string {
	switch {
	case err == nil && res.State == "queued":
		return metrics.RedeemQueued
	case err == nil:
		return metrics.RedeemSeated
	case errors.Is(err, alloc.ErrCodeNotValid):
		return metrics.RedeemNotValid
	case errors.Is(err, alloc.ErrCodeDisabled):
		return metrics.RedeemDisabled
	case errors.Is(err, alloc.ErrCodeExpired):
		return metrics.RedeemExpired
	case errors.Is(err, alloc.ErrCodeUsedUp):
		return metrics.RedeemUsedUp
	case errors.Is(err, alloc.ErrInvalid):
		return metrics.RedeemInvalid
	}
	return metrics.RedeemError
}
