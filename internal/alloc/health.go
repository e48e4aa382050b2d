package alloc

import (
	"time"

	"github.com/berthhq/berth/internal/health"
	"github.com/berthhq/berth/internal/placement"
)

// Pool health (package health, docs/design.md "Health"): the jobs that
// call providers record each call's outcome here; the score of every pool
// lives in a health.Book of this process, and a pool whose score falls
// below the threshold is degraded in its kind's placement index (until its
// score is back at the threshold plus the recovery margin: the report's
// Degraded, hysteresis kept by the book, is the tier), so new
// placements go to healthy pools first, before the health monitor's K
// failed probes mark it offline. The book is kept in memory: each replica
// scores the calls its own workers made, and a restart begins with every
// pool healthy (the index rebuild every IndexTTL reads the decayed scores
// back).

// SetHealthConfig replaces the health book with an empty one scoring with
// cfg (BERTH_HEALTH_HALF_LIFE, BERTH_HEALTH_LATENCY_TARGET,
// BERTH_HEALTH_THRESHOLD, BERTH_HEALTH_RECOVERY_MARGIN); call it before the
// Service is used.
func (s *Service) SetHealthConfig(cfg health.Config) { s.health = health.NewBook(cfg) }

// RecordOutcome records one provider call's outcome for a pool and has the
// placers apply the pool's new score before their next decision.
func (s *Service) RecordOutcome(poolID int64, o health.Outcome) {
	if o.At.IsZero() {
		o.At = time.Now()
	}
	s.health.Record(poolID, o)
	for _, p := range s.placers {
		p.hmu.Lock()
		if p.healthDirty == nil {
			p.healthDirty = map[int64]struct{}{}
		}
		p.healthDirty[poolID] = struct{}{}
		p.hmu.Unlock()
	}
}

// PoolHealth is a pool's health now.
func (s *Service) PoolHealth(poolID int64) health.Report { return s.health.Report(poolID, time.Now()) }

// PoolHealths is the health now of every pool with outcomes on record; the
// others are healthy (health.Healthy).
func (s *Service) PoolHealths() map[int64]health.Report { return s.health.Reports(time.Now()) }

// applyHealth gives ix the scores of every pool of the book (a fresh index).
func (s *Service) applyHealth(ix *placement.Index) {
	for id, r := range s.health.Reports(time.Now()) {
		ix.SetHealth(id, r.Score, r.Degraded)
	}
}

// applyHealthChanges gives p's index the scores that changed since the
// last call. p.mu held.
func (p *placer) applyHealthChanges(ix *placement.Index) {
	p.hmu.Lock()
	dirty := p.healthDirty
	p.healthDirty = nil
	p.hmu.Unlock()
	if len(dirty) == 0 {
		return
	}
	p.svc.applyHealthTo(ix, dirty)
	if !p.refreshing {
		return
	}
	// The index a refresh is building may have read the book before these
	// changes: it gets them too when it is swapped in (refresh).
	if p.refreshHealth == nil {
		p.refreshHealth = map[int64]struct{}{}
	}
	for id := range dirty {
		p.refreshHealth[id] = struct{}{}
	}
}

// applyHealthTo gives ix the scores now of the pools ids (a freshly built
// index: those that changed while it was built).
func (s *Service) applyHealthTo(ix *placement.Index, ids map[int64]struct{}) {
	now := time.Now()
	for id := range ids {
		r := s.health.Report(id, now)
		ix.SetHealth(id, r.Score, r.Degraded)
	}
}
