package api

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/berthhq/berth/internal/store"
)

// readiness is what /readyz checks beyond the database answering.
type readiness struct {
	draining atomic.Bool
	// jobs reports whether jobs are being worked (SetJobsCheck); nil: not
	// checked.
	jobs func(context.Context) error
}

// Drain makes /readyz answer 503 from now on: shutdown has begun, and a
// load balancer should stop sending requests before the listener closes.
func (s *Server) Drain() { s.ready.draining.Store(true) }

// SetJobsCheck makes /readyz ask check whether jobs are being worked
// (jobs.Queue.Health). Call it before serving.
func (s *Server) SetJobsCheck(check func(context.Context) error) { s.ready.jobs = check }

// readyz answers 200 when this process should get traffic, else 503 with
// the first reason: shutdown has begun (Drain); the database does not
// answer; the key this process seals with is not the database's key
// (store.CheckKey); jobs are not being worked (SetJobsCheck). Each check
// is one cheap read, all within 2 seconds.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.ready.draining.Load() {
		return errStatus(http.StatusServiceUnavailable, "shutting down")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		return errStatus(http.StatusServiceUnavailable, "database does not answer")
	}
	if err := s.st.CheckKey(ctx); errors.Is(err, store.ErrKeyChanged) {
		return errStatus(http.StatusServiceUnavailable, err.Error())
	} else if err != nil {
		return errStatus(http.StatusServiceUnavailable, "database does not answer the key check")
	}
	if s.ready.jobs != nil {
		if err := s.ready.jobs(ctx); err != nil {
			logOf(r).Warn("not ready", "err", err)
			return errStatus(http.StatusServiceUnavailable, "jobs are not being worked")
		}
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
	return nil
}
