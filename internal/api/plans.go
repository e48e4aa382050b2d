package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/alloc/plans"
)

// PlanRequest is the body of POST /api/v1/plans: an action of the plans
// table and the params its direct endpoint takes.
type PlanRequest struct {
	Action string          `json:"action"`
	Params json.RawMessage `json:"params"`
}

// SetPlanTTL sets how long new plans may be applied (BERTH_PLAN_TTL).
func (s *Server) SetPlanTTL(ttl time.Duration) {
	if ttl > 0 {
		s.plans.TTL = ttl
	}
}

// Plans is the API's plan service (the console shares it).
func (s *Server) Plans() *plans.Service { return s.plans }

func planID(r *http.Request) (int64, error) { return positiveID(r, "id", "plan id") }

func (s *Server) planCreate(w http.ResponseWriter, r *http.Request) error {
	var in PlanRequest
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if in.Action == "" {
		return errStatus(http.StatusUnprocessableEntity, "action is required: one of "+strings.Join(plans.Actions(), ", "))
	}
	p, err := s.plans.Create(r.Context(), in.Action, in.Params, actor(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/plans/"+strconv.FormatInt(p.ID, 10))
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) planGet(w http.ResponseWriter, r *http.Request) error {
	id, err := planID(r)
	if err != nil {
		return err
	}
	p, err := s.plans.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) planApply(w http.ResponseWriter, r *http.Request) error {
	id, err := planID(r)
	if err != nil {
		return err
	}
	p, err := s.plans.Apply(r.Context(), id, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// planCancel stops an applied plan's paced moves (a rebalance): those not
// yet run are cancelled.
func (s *Server) planCancel(w http.ResponseWriter, r *http.Request) error {
	id, err := planID(r)
	if err != nil {
		return err
	}
	p, err := s.plans.CancelPaced(r.Context(), id, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
