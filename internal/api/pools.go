package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/health"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider/providers"
	"github.com/berthhq/berth/internal/reconcile"
	"github.com/berthhq/berth/internal/store"
)

const maxJSONBody = 1 << 20

// PoolView is a pool as the API shows it: provider secrets are never returned.
type PoolView struct {
	model.Pool
	Free     int            `json:"free"`
	Provider map[string]any `json:"provider"`
	Scripts  map[string]int `json:"scripts,omitempty"`
	// Health is the pool's health score and its reasons, from the provider
	// outcomes this process saw (package health).
	Health health.Report `json:"health"`
}

func (s *Server) poolView(r *http.Request, p model.Pool, withKeys bool) (PoolView, error) {
	v := PoolView{Pool: p, Free: p.Free(), Health: health.Healthy()}
	if s.svc != nil {
		v.Health = s.svc.PoolHealth(p.ID)
	}
	typ, cfg, err := s.rd.PoolProvider(r.Context(), p.ID)
	if err != nil {
		return v, err
	}
	v.Provider = providers.Public(typ, cfg)
	if withKeys {
		if v.Scripts, err = s.rd.PoolKeys(r.Context(), p.ID); err != nil {
			return v, err
		}
	}
	return v, nil
}

// writePool answers with p as the API shows it (poolView), under status.
func (s *Server) writePool(w http.ResponseWriter, r *http.Request, status int, p model.Pool, withKeys bool) error {
	v, err := s.poolView(r, p, withKeys)
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// positiveID reads the path value key as a positive integer id; what names
// it in the error.
func positiveID(r *http.Request, key, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(key), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest(what + " must be a positive integer, got " + strconv.Quote(r.PathValue(key)))
	}
	return id, nil
}

// pathID reads a pool's id from the path.
func pathID(r *http.Request) (int64, error) { return positiveID(r, "id", "pool id") }

func actor(r *http.Request) string { return auth.Actor(r.Context()) }

func (s *Server) poolCreate(w http.ResponseWriter, r *http.Request) error {
	var in pooladmin.Input
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	p, err := s.pools.Create(r.Context(), in, actor(r))
	if err != nil {
		return err
	}
	return s.writePool(w, r, http.StatusCreated, p, false)
}

func (s *Server) poolList(w http.ResponseWriter, r *http.Request) error {
	kind, err := kindParam(r)
	if err != nil {
		return err
	}
	limit, cursor, err := cursorParams(r, 1000)
	if err != nil {
		return err
	}
	pools, next, err := s.rd.PoolPage(r.Context(), kind, cursor, limit)
	if err != nil {
		return cursorError(err)
	}
	items := make([]PoolView, 0, len(pools))
	for _, p := range pools {
		v, err := s.poolView(r, p, false)
		if err != nil {
			return err
		}
		items = append(items, v)
	}
	writePage(w, items, next)
	return nil
}

func (s *Server) poolGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.rd.PoolGet(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writePool(w, r, 200, p, true)
}

func (s *Server) poolUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in pooladmin.Patch
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if string(in.Provider) == "null" {
		in.Provider = nil // no change
	}
	// Provider settings hold secrets and say where members' data goes:
	// admins only. Decided on the patch about to be applied.
	if len(in.Provider) > 0 {
		if err := needRole(r, auth.RoleAdmin, "to change provider settings"); err != nil {
			return err
		}
	}
	p, err := s.pools.Update(r.Context(), id, in, actor(r))
	if err != nil {
		return err
	}
	return s.writePool(w, r, 200, p, false)
}

// StatusRequest is the body of the bulk status endpoint.
type StatusRequest struct {
	IDs     []int64 `json:"ids"`
	Status  string  `json:"status"`
	Message string  `json:"message"`
}

func (s *Server) poolStatus(w http.ResponseWriter, r *http.Request) error {
	var in StatusRequest
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if len(in.IDs) == 0 {
		return errStatus(http.StatusUnprocessableEntity, "ids is required: the pool ids to change")
	}
	if len(in.IDs) > 1000 {
		return errStatus(http.StatusUnprocessableEntity, "at most 1000 ids per request")
	}
	res, err := s.pools.SetStatus(r.Context(), in.IDs, in.Status, in.Message, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, 200, res)
	return nil
}

func (s *Server) poolDrain(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	res, err := s.svc.DrainPool(r.Context(), id, actor(r))
	if err != nil {
		return err
	}
	writeAccepted(w, movesFollow, res)
	return nil
}

func (s *Server) poolReconcile(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Repair         bool    `json:"repair"`
		RemoveUnknown  bool    `json:"remove_unknown"`
		MaxRemoveShare float64 `json:"max_remove_share"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
			return err
		}
	}
	if in.MaxRemoveShare < 0 || in.MaxRemoveShare > 1 {
		return errStatus(http.StatusUnprocessableEntity, "max_remove_share must be between 0 and 1")
	}
	p, err := s.rd.PoolGet(r.Context(), id)
	if err != nil {
		return err
	}
	if s.reconciler == nil {
		return errStatus(http.StatusServiceUnavailable, "the job queue is not running")
	}
	// The provider is called by the run's job, never in the request: the
	// answer says where the report will be.
	run, err := reconcile.Start(r.Context(), s.st, s.reconciler, p,
		reconcile.Options{Repair: in.Repair, RemoveUnknown: in.RemoveUnknown, MaxRemoveShare: in.MaxRemoveShare}, actor(r))
	if err != nil {
		return err
	}
	report := fmt.Sprintf("/api/v1/pools/%d/reconcile/%d", p.ID, run.ID)
	writeAccepted(w, report, map[string]any{"run": run.ID, "state": run.State, "report": report})
	return nil
}

// SetReconciler wires the job queue that works reconcile runs (app does,
// once the queue exists); without it POST /pools/{id}/reconcile answers 503.
func (s *Server) SetReconciler(e reconcile.Enqueuer) { s.reconciler = e }

func (s *Server) poolReconcileRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	runID, err := positiveID(r, "run", "run id")
	if err != nil {
		return err
	}
	run, err := s.rd.ReconcileRunGet(r.Context(), runID)
	if err == nil && run.PoolID != id {
		err = fmt.Errorf("reconcile run %d of pool %d: %w", runID, id, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}
