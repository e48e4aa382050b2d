// Package reconcile compares what a team's provider holds with the seats
// berth keeps for it, reports the drift, and optionally repairs it:
// re-provisioning members berth thinks active that the provider lacks, and
// (behind a guard on how much of a team may go at once) removing members the
// provider holds that berth does not know.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/providers"
	"github.com/berthhq/berth/internal/provider/webhook"
	"github.com/berthhq/berth/internal/store"
)

// Opener opens a pool's provider.
type Opener func(ctx context.Context, p model.Pool) (provider.Provider, error)

// OpenProvider opens pools' providers from their stored settings.
func OpenProvider(st *store.Store) Opener {
	return func(ctx context.Context, p model.Pool) (provider.Provider, error) {
		typ, cfg, err := st.PoolProvider(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		return providers.Open(p.Name, typ, cfg)
	}
}

// All reconciles every active team pool, report only, and records drift in
// history (periodic job).
func All(ctx context.Context, st *store.Store, rep Repairer) ([]Report, error) {
	pools, err := st.PoolList(ctx, model.KindTeam)
	if err != nil {
		return nil, err
	}
	var out []Report
	for _, p := range pools {
		if p.Status != model.StatusActive {
			continue
		}
		r, err := Run(ctx, st, OpenProvider(st), rep, p, Options{})
		if err != nil {
			out = append(out, Report{Pool: p.Name, Skipped: "error: " + err.Error()})
			continue
		}
		if !r.Clean() {
			if err := st.HistoryAdd(ctx, model.HistoryEntry{Pool: p.Name, Action: "reconcile.drift",
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
	Repair bool
	// RemoveUnknown takes out members the provider holds that berth does not
	// know, at most MaxRemoveShare of the team's capacity per run.
	RemoveUnknown  bool
	MaxRemoveShare float64 // default 0.1
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
		if errors.Is(err, webhook.ErrNoList) {
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
