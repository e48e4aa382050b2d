package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
)

// durationParam reads an optional, positive Go duration ("10m", "1h30m")
// from the query string; 0 when absent.
func durationParam(r *http.Request, name string) (time.Duration, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, badRequest(name + " must be a positive Go duration like 10m or 1h30m, got " + strconv.Quote(v))
	}
	return d, nil
}

// integrityGet checks the invariants (orphans, overbooked pools, zombie
// moves, counter drift) and reports what breaks them.
func (s *Server) integrityGet(w http.ResponseWriter, r *http.Request) error {
	grace, err := durationParam(r, "grace")
	if err != nil {
		return err
	}
	zombie, err := durationParam(r, "zombie_after")
	if err != nil {
		return err
	}
	rep, err := integrity.Check(r.Context(), s.rd, integrity.Options{Grace: grace, ZombieAfter: zombie})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// RepairRequest is the body of POST /api/v1/integrity/repair.
type RepairRequest struct {
	// Limit is the most seat releases this call starts (1-1000).
	Limit int `json:"limit"`
	// Grace is how long a member must have held extra seats to be
	// repaired; empty means the default (10m).
	Grace model.Duration `json:"grace"`
}

// integrityRepair finds the orphans and releases their extra seats.
func (s *Server) integrityRepair(w http.ResponseWriter, r *http.Request) error {
	var in RepairRequest
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if in.Limit < 1 || in.Limit > integrity.MaxRepair {
		return errStatus(http.StatusUnprocessableEntity, "limit must be between 1 and "+strconv.Itoa(integrity.MaxRepair)+
			" (the most seat releases this call starts), got "+strconv.Itoa(in.Limit))
	}
	if in.Grace < 0 {
		return errStatus(http.StatusUnprocessableEntity, "grace must not be negative")
	}
	_, res, err := s.svc.RepairOrphans(r.Context(), integrity.Options{Grace: time.Duration(in.Grace)}, in.Limit, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
