// Package reconcile compares what a team's provider holds with the seats
// berth keeps for it, reports the drift, and optionally repairs it:
// re-provisioning members berth thinks active that the provider lacks, and
// (behind a guard on how much of a team may go at once) removing members the
// provider holds that berth does not know.
//
// Providers are called from jobs only (docs/architecture.md): the periodic
// comparison is the reconcile job, and a run asked for through the API is
// recorded by Start and worked by the reconcile_pool job (Execute), whose
// report the API reads back. The jobs open providers as delivery does, so
// provider metrics count these calls too.
package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/store"
)

// Opener opens a pool's provider (jobs.Queue's, instrumented as delivery's).
type Opener func(ctx context.Context, p model.Pool) (provider.Provider, error)

// Enqueuer enqueues the job of a recorded run in the caller's transaction
// (jobs.Queue implements it).
type Enqueuer interface {
	ReconcilePool(ctx context.Context, tx *store.Tx, runID int64) error
}

// Start records a run of p with opts, asked for by actor, and enqueues its
// job in the same transaction. Nothing is compared yet: the job does it
// (Execute) and writes the report the run's id names.
func Start(ctx context.Context, st *store.Store, enq Enqueuer, p model.Pool, opts Options, actor string) (model.ReconcileRun, error) {
	options, err := json.Marshal(opts)
	if err != nil {
		return model.ReconcileRun{}, err
	}
	var run model.ReconcileRun
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if run, err = tx.ReconcileRunCreate(ctx, p, options, actor); err != nil {
			return err
		}
		return enq.ReconcilePool(ctx, tx, run.ID)
	})
	return run, err
}

// Execute works the run runID (the reconcile_pool job): it compares the
// run's pool with the options it was asked with and records the report, or
// the error that ended it. A run already ended (its job run again after a
// crash) is left as it is. The error returned is only the failure to
// record, for the job to retry.
func Execute(ctx context.Context, st *store.Store, open Opener, rep Repairer, runID int64) error {
	run, err := st.ReconcileRunGet(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if run.State == model.ReconcileDone || run.State == model.ReconcileFailed {
		return nil
	}
	var opts Options
	if err := json.Unmarshal(run.Options, &opts); err != nil {
		return st.ReconcileRunFinish(ctx, runID, model.ReconcileFailed, nil, "options: "+err.Error())
	}
	if err := st.ReconcileRunStart(ctx, runID); err != nil {
		return err
	}
	r, err := runPool(ctx, st, open, rep, run.PoolID, opts)
	// The job's deadline may be what ended the comparison; the report is
	// written anyway.
	bctx := context.WithoutCancel(ctx)
	if err != nil {
		return st.ReconcileRunFinish(bctx, runID, model.ReconcileFailed, nil, err.Error())
	}
	report, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return st.ReconcileRunFinish(bctx, runID, model.ReconcileDone, report, "")
}

func runPool(ctx context.Context, st *store.Store, open Opener, rep Repairer, poolID int64, opts Options) (Report, error) {
	p, err := st.PoolGet(ctx, poolID)
	if err != nil {
		return Report{}, err
	}
	return Run(ctx, st, open, rep, p, opts)
}

// All reconciles every active team pool, report only, and records drift in
// history (periodic job).
func All(ctx context.Context, st *store.Store, open Opener, rep Repairer) ([]Report, error) {
	pools, err := st.PoolList(ctx, model.KindTeam)
	if err != nil {
		return nil, err
	}
	var out []Report
	for _, p := range pools {
		if p.Status != model.StatusActive {
			continue
		}
		r, err := Run(ctx, st, open, rep, p, Options{})
		if err != nil {
			out = append(out, Report{Pool: p.Name, Skipped: "error: " + err.Error()})
			continue
		}
		if !r.Clean() {
			if err := st.HistoryAdd(ctx, model.HistoryEntry{Pool: p.Name, Action: model.ActReconcileDrift,
				Reason: fmt.Sprintf("%d unknown at the provider, %d missing there, %d pending", len(r.Unknown), len(r.Missing), len(r.Pending))}); err != nil {
				return out, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Repairer re-provisions a seat (enqueues its delivery again).
type Repairer interface {
	Redeliver(ctx context.Context, seatID int64, reason string) error
}

// Options tune a run.
type Options struct {
	// Repair re-provisions members berth thinks active that the provider lacks.
	Repair bool `json:"repair"`
	// RemoveUnknown takes out members the provider holds that berth does not
	// know, at most MaxRemoveShare of the team's capacity per run.
	RemoveUnknown  bool    `json:"remove_unknown"`
	MaxRemoveShare float64 `json:"max_remove_share"` // default 0.1
}

// Report is one team's drift.
type Report struct {
	Pool string `json:"pool"`
	// Skipped says why the team was not compared (unhealthy, no listing).
	Skipped string `json:"skipped,omitempty"`
	// Unknown: at the provider, but no live seat in berth.
	Unknown []string `json:"unknown"`
	// Missing: berth thinks them active, the provider lacks them.
	Missing []string `json:"missing"`
	// Pending: seats still being provisioned (invitations in flight).
	Pending     []string `json:"pending"`
	Repaired    int      `json:"repaired"`
	Removed     int      `json:"removed"`
	RemoveError string   `json:"remove_error,omitempty"`
}

// Clean reports whether the team shows no drift.
func (r Report) Clean() bool { return len(r.Unknown) == 0 && len(r.Missing) == 0 }

// Run reconciles one pool.
func Run(ctx context.Context, st *store.Store, open Opener, rep Repairer, p model.Pool, opts Options) (Report, error) {
	r := Report{Pool: p.Name, Unknown: []string{}, Missing: []string{}, Pending: []string{}}
	if p.Status != model.StatusActive {
		r.Skipped = "pool is " + string(p.Status)
		return r, nil
	}
	prov, err := open(ctx, p)
	if err != nil {
		return r, err
	}
	held, err := prov.List(ctx)
	if err != nil {
		if errors.Is(err, provider.ErrCannotList) {
			r.Skipped = "provider cannot list members: " + err.Error()
			return r, nil
		}
		return r, err
	}
	atProvider := map[string]bool{}
	for _, id := range held {
		atProvider[strings.ToLower(id)] = true
	}
	seats, err := st.SeatList(ctx, store.SeatFilter{PoolID: p.ID, States: []model.SeatState{model.SeatReserved, model.SeatProvisioning,
		model.SeatActive, model.SeatReleasing, model.SeatReleaseFailed}})
	if err != nil {
		return r, err
	}
	known := map[string]bool{}
	var missing []model.Seat
	for _, s := range seats {
		key := strings.ToLower(s.Member)
		known[key] = true
		switch s.State {
		case model.SeatActive:
			if !atProvider[key] {
				r.Missing = append(r.Missing, s.Member)
				missing = append(missing, s)
			}
		case model.SeatReserved, model.SeatProvisioning:
			r.Pending = append(r.Pending, s.Member)
		}
	}
	for id := range atProvider {
		if !known[id] {
			r.Unknown = append(r.Unknown, id)
		}
	}
	slices.Sort(r.Unknown)
	if opts.Repair {
		for _, s := range missing {
			if err := rep.Redeliver(ctx, s.ID, "reconcile: provider lacks this member"); err != nil {
				return r, err
			}
			r.Repaired++
		}
	}
	if opts.RemoveUnknown && len(r.Unknown) > 0 {
		share := opts.MaxRemoveShare
		if share <= 0 {
			share = 0.1
		}
		limit := int(math.Floor(share * float64(max(p.Capacity, 1))))
		if len(r.Unknown) > limit {
			r.RemoveError = fmt.Sprintf("refused: %d unknown members is more than %.0f%% of %s (%d); check the provider, then remove by hand or raise the share",
				len(r.Unknown), share*100, p.Name, limit)
		} else {
			for _, id := range r.Unknown {
				if err := prov.Remove(ctx, provider.Member{ID: id}); err != nil {
					r.RemoveError = err.Error()
					break
				}
				r.Removed++
			}
		}
	}
	return r, nil
}
