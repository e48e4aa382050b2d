package alloc

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// EnqueueDrain enqueues, in tx, a drain of kind's queue (room may exist
// now). Pool administration (package pooladmin) calls it.
func (s *Service) EnqueueDrain(ctx context.Context, tx *store.Tx, kind model.Kind) error {
	return s.jobs.DrainQueue(ctx, tx, kind)
}

// SetPoolStatus changes one pool's status if it is expect ("" = any), with
// its history row (the monitor's changes as health rows), drains the queue
// when the pool becomes active, and refreshes the pool in the index. It
// reports whether the status changed.
func (s *Service) SetPoolStatus(ctx context.Context, id int64, st model.PoolStatus, message, actor string, expect model.PoolStatus) (bool, error) {
	var changed bool
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		changed, err = s.SetPoolStatusTx(ctx, tx, id, st, message, actor, expect)
		return err
	})
	if err == nil && changed {
		s.PoolStatusChanged(ctx, id, st, message, actor)
	}
	return changed, err
}

// SetPoolStatusTx is SetPoolStatus inside the caller's transaction (a
// plan's apply, package alloc/plans): the status, its history row and the
// queue drain. Once tx commits, the caller calls PoolStatusChanged for
// each pool it changed.
func (s *Service) SetPoolStatusTx(ctx context.Context, tx *store.Tx, id int64, st model.PoolStatus, message, actor string, expect model.PoolStatus) (bool, error) {
	before, ok, err := tx.PoolSetStatus(ctx, id, st, message, actor, expect)
	if err != nil || !ok {
		return false, err
	}
	action := model.ActPoolStatus
	switch {
	case actor == model.ActorMonitor && st == model.StatusOffline:
		action = model.ActHealthOffline
	case actor == model.ActorMonitor && st == model.StatusActive:
		action = model.ActHealthRecovered
	}
	if err := tx.HistoryAdd(ctx, model.HistoryEntry{Pool: before.Name, Action: action, From: string(before.Status), To: string(st),
		Reason: message, Actor: actor}); err != nil {
		return false, err
	}
	if st == model.StatusActive && before.Status != model.StatusActive {
		return true, s.jobs.DrainQueue(ctx, tx, before.Kind)
	}
	return true, nil
}

// PoolStatusChanged is what follows a committed status change: the alert
// of an unhealthy pool and the pool refreshed in the index.
func (s *Service) PoolStatusChanged(ctx context.Context, id int64, st model.PoolStatus, message, actor string) {
	if st.Unhealthy() {
		s.log.WarnContext(ctx, "ALERT pool unhealthy", "pool_id", id, "status", st, "actor", actor, "message", message)
	}
	s.PoolChanged(ctx, id)
}

// DrainResult tells what a drain started.
type DrainResult struct {
	Pool    string `json:"pool"`
	Moving  int    `json:"moving"`
	Queued  int    `json:"queued"`
	Already int    `json:"already_moving"`
}

// DrainPool moves every member off a pool, make before break: each gets a
// new seat elsewhere (or waits in the queue, ahead of new members) and its
// old seat is released once the new one is active. An active or paused pool
// becomes draining; an unhealthy one keeps its status.
func (s *Service) DrainPool(ctx context.Context, id int64, actor string) (DrainResult, error) {
	p, err := s.st.PoolGet(ctx, id)
	if err != nil {
		return DrainResult{}, err
	}
	res := DrainResult{Pool: p.Name}
	if !p.Status.Unhealthy() && p.Status != model.StatusDraining {
		if _, err := s.SetPoolStatus(ctx, id, model.StatusDraining, "drain requested by "+actor, actor, ""); err != nil {
			return res, err
		}
	}
	seats, err := s.st.SeatList(ctx, store.SeatFilter{PoolID: id, States: []model.SeatState{model.SeatActive, model.SeatProvisioning, model.SeatReserved}})
	if err != nil {
		return res, err
	}
	if err := s.st.HistoryAdd(ctx, model.HistoryEntry{Pool: p.Name, Action: model.ActDrainStarted, From: p.Name,
		Reason: fmt.Sprintf("moving %d member(s)", len(seats)), Actor: actor}); err != nil {
		return res, err
	}
	for start := 0; start < len(seats); start += placeChunk {
		chunk := seats[start:min(start+placeChunk, len(seats))]
		moving, queued, already := 0, 0, 0
		err := s.withIndex(ctx, p.Kind, len(chunk), func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
			moving, queued, already = 0, 0, 0
			for _, seat := range chunk {
				m, err := tx.MemberGet(ctx, seat.MemberID)
				if err != nil {
					return err
				}
				o, err := s.startMove(ctx, tx, ix, moveReq{seat: seat, member: m, actor: actor, codeID: seat.CodeID,
					reason: "drain of " + p.Name, paid: false})
				if errors.Is(err, ErrMoveInProgress) {
					already++
					continue
				}
				if err != nil {
					return err
				}
				if o.Status == OutcomePlaced {
					moving++
				} else {
					queued++
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Moving, res.Queued, res.Already = res.Moving+moving, res.Queued+queued, res.Already+already
	}
	return res, nil
}
