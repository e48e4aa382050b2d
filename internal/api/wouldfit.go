package api

import (
	"net/http"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/model"
)

// queueItem is a queue entry as GET /api/v1/queue answers it: with what
// would place its member now (alloc.QueueWouldFit; issue 14 §1).
type queueItem struct {
	model.QueueEntry
	WouldFit []model.FitChange `json:"would_fit"`
}

// withWouldFit adds would_fit to a page of queue entries.
func (s *Server) withWouldFit(r *http.Request, entries []model.QueueEntry) ([]queueItem, error) {
	fits, err := s.svc.QueueWouldFit(r.Context(), entries)
	if err != nil {
		return nil, err
	}
	out := make([]queueItem, len(entries))
	for i, e := range entries {
		out[i] = queueItem{QueueEntry: e, WouldFit: fits[i]}
	}
	return out, nil
}

// queuedWouldFit is a queued outcome's would_fit: a list, never null;
// empty when there is room now (contended) and a drain is due.
func queuedWouldFit(f []model.FitChange) []model.FitChange {
	if f == nil {
		return []model.FitChange{}
	}
	return f
}

// SimulateRequest is the body of POST /api/v1/placement/simulate.
type SimulateRequest struct {
	Changes []alloc.SimChange `json:"changes"`
}

// placementSimulate places today's queue under hypothetical changes and
// answers what would be placed where, changing nothing. A viewer may ask:
// it reads, like every viewer route, and writes nothing (no audit row
// either; docs/design.md, "What would fit").
func (s *Server) placementSimulate(w http.ResponseWriter, r *http.Request) error {
	var in SimulateRequest
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	res, err := s.svc.Simulate(r.Context(), in.Changes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
