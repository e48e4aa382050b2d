package alloc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/crashpoint"
	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/store"
)

// Delivered records that a seat's member is in its pool. When the seat ends
// a move, the old seat is released now (make before break). note, when not
// empty, is what the provider reported (provider.Notes: a command's exit
// status and output), added to the history row.
func (s *Service) Delivered(ctx context.Context, seatID int64, note string) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error { return s.deliveredTx(ctx, tx, seatID, note) })
}

// DeliveredMany records many deliveries in one transaction (a
// deliver_batch job's successes), notes by seat id as for Delivered; if
// that fails, each is recorded on its own, so one seat's trouble does not
// hold up the rest.
func (s *Service) DeliveredMany(ctx context.Context, seatIDs []int64, notes map[int64]string) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range seatIDs {
			if err := s.deliveredTx(ctx, tx, id, notes[id]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(seatIDs) == 1 {
		return err
	}
	var errs []error
	for _, id := range seatIDs {
		errs = append(errs, s.Delivered(ctx, id, notes[id]))
	}
	return errors.Join(errs...)
}

func (s *Service) deliveredTx(ctx context.Context, tx *store.Tx, seatID int64, note string) error {
	seat, err := tx.SeatGet(ctx, seatID)
	if err != nil {
		return err
	}
	ok, err := tx.SeatTransition(ctx, seatID, model.SeatActive, "", model.SeatProvisioning, model.SeatReserved)
	if err != nil || !ok {
		return err
	}
	reason := fmt.Sprintf("delivered after %d failed attempt(s)", seat.Attempts)
	if note != "" {
		reason += "; " + note
	}
	if err := tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Pool: seat.Pool, Action: model.ActDelivered, To: seat.Pool,
		Reason: reason}); err != nil {
		return err
	}
	if seat.MoveFrom == 0 {
		return nil
	}
	old, err := tx.SeatGet(ctx, seat.MoveFrom)
	if err != nil {
		return err
	}
	if err := s.startRelease(ctx, tx, old, "move to "+seat.Pool+" complete"); err != nil {
		return err
	}
	crashpoint.Hit("delivered.after-start-release")
	if err := s.finishMove(ctx, tx, old.ID, model.MoveDone, "moved to "+seat.Pool); err != nil {
		return err
	}
	return tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Pool: seat.Pool, Action: model.ActMoved, From: old.Pool, To: seat.Pool,
		Reason: "new seat active; old seat releasing"})
}

// startRelease moves a live seat to releasing and enqueues its removal.
func (s *Service) startRelease(ctx context.Context, tx *store.Tx, seat model.Seat, reason string) error {
	ok, err := tx.SeatTransition(ctx, seat.ID, model.SeatReleasing, "", model.SeatActive, model.SeatProvisioning, model.SeatReserved)
	if err != nil || !ok {
		return err
	}
	if err := s.jobs.Remove(ctx, tx, seat.ID); err != nil {
		return fmt.Errorf("enqueue removal: %w", err)
	}
	return tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Pool: seat.Pool, Action: model.ActRelease, From: seat.Pool, Reason: reason})
}

// EndSeatTx ends a seat in the caller's transaction: its pending move is
// cancelled (a paid one gives its rebind back) and its release started.
// Code expiry (package codebook) calls it for the seats of an ended code.
func (s *Service) EndSeatTx(ctx context.Context, tx *store.Tx, seat model.Seat, reason string) error {
	if err := s.finishMove(ctx, tx, seat.ID, model.MoveCancelled, reason); err != nil {
		return err
	}
	return s.startRelease(ctx, tx, seat, reason)
}

// Release takes a member's seat away (admin action).
func (s *Service) Release(ctx context.Context, seatID int64, actor string) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error { return s.ReleaseTx(ctx, tx, seatID, actor) })
}

// ReleaseTx starts releasing a seat in the caller's transaction (the
// orphan repair's, which writes its history row in the same one).
func (s *Service) ReleaseTx(ctx context.Context, tx *store.Tx, seatID int64, actor string) error {
	seat, err := tx.SeatGet(ctx, seatID)
	if err != nil {
		return err
	}
	switch seat.State {
	case model.SeatReleasing, model.SeatReleased, model.SeatReleaseFailed:
		return nil // already being released: repeating the request is a no-op
	case model.SeatFailed:
		return Invalidf("seat %d failed; it holds nothing to release", seatID)
	}
	return s.startRelease(ctx, tx, seat, "released by "+actor)
}

// RepairOrphans checks the database (on the read pool) and repairs the
// orphans found, starting at most limit seat releases: each orphan's
// releases and its history row in one transaction (integrity.Repair).
// It returns the report it repaired from.
func (s *Service) RepairOrphans(ctx context.Context, opt integrity.Options, limit int, actor string) (integrity.Report, integrity.RepairResult, error) {
	if limit <= 0 || limit > integrity.MaxRepair {
		return integrity.Report{}, integrity.RepairResult{Kept: []int64{}, Errors: []string{}}, fmt.Errorf("%w: %w, got %d", ErrInvalid, integrity.ErrLimit, limit)
	}
	rep, err := integrity.Check(ctx, s.st.Reader(), opt)
	if err != nil {
		return rep, integrity.RepairResult{}, err
	}
	res, err := integrity.Repair(ctx, s.st, s, rep, limit, actor)
	return rep, res, err
}

// Released records that a releasing seat's member is out of its pool: the
// room comes back and the queue is drained.
func (s *Service) Released(ctx context.Context, seatID int64) error {
	return s.ReleasedNoted(ctx, seatID, "")
}

// ReleasedNoted is Released with what the provider reported (as for
// Delivered) added to the history row.
func (s *Service) ReleasedNoted(ctx context.Context, seatID int64, note string) error {
	reason := "removed from pool"
	if note != "" {
		reason += "; " + note
	}
	var seat model.Seat
	var m model.Member
	var done bool
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if seat, err = tx.SeatGet(ctx, seatID); err != nil {
			return err
		}
		if m, err = tx.MemberGet(ctx, seat.MemberID); err != nil {
			return err
		}
		if done, err = tx.SeatTransition(ctx, seatID, model.SeatReleased, "", model.SeatReleasing, model.SeatReleaseFailed); err != nil || !done {
			return err
		}
		if err := tx.PoolGiveBack(ctx, seat.PoolID); err != nil {
			return err
		}
		if err := tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Pool: seat.Pool, Action: model.ActReleased, From: seat.Pool, Reason: reason}); err != nil {
			return err
		}
		return s.jobs.DrainQueue(ctx, tx, m.Kind)
	})
	if err == nil && done {
		s.released(m.Kind, seat.PoolID, m.AffinityKey)
	}
	return err
}

// ReleaseFailed records that removal retries are spent: the seat stays
// counted (the member may still be there) and an alert is raised.
func (s *Service) ReleaseFailed(ctx context.Context, seatID int64, cause error) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		seat, err := tx.SeatGet(ctx, seatID)
		if err != nil {
			return err
		}
		ok, err := tx.SeatTransition(ctx, seatID, model.SeatReleaseFailed, cause.Error(), model.SeatReleasing)
		if err != nil || !ok {
			return err
		}
		s.log.ErrorContext(ctx, "ALERT release failed", "seat", seatID, "member", seat.Member, "pool", seat.Pool, "err", cause)
		return tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Pool: seat.Pool, Action: model.ActReleaseFailed, From: seat.Pool,
			Reason: "retries spent: " + cause.Error()})
	})
}

// DeliveryAttempt records one failed attempt on a seat.
func (s *Service) DeliveryAttempt(ctx context.Context, seatID int64, cause error) error {
	return s.st.SeatAttempt(ctx, seatID, cause.Error())
}

// DeliveryFailed ends a seat whose delivery cannot succeed: the member is
// placed again, excluding the failing pool, or queued. After a member-level
// permanent error the pool stays excluded for the member until
// FailedPoolWindow passes, and the member is rejected (its code use given
// back) when no other pool could take it. (The jobs package calls this for
// a retryable failure only when the retries are spent: DeliveryRetryFor.)
func (s *Service) DeliveryFailed(ctx context.Context, seatID int64, class provider.Class, cause error) error {
	seat, err := s.st.SeatGet(ctx, seatID)
	if err != nil {
		return err
	}
	if class == provider.PoolPermanent {
		if err := s.PoolRefused(ctx, seat.PoolID, cause); err != nil {
			return err
		}
	}
	m, err := s.st.MemberGet(ctx, seat.MemberID)
	if err != nil {
		return err
	}
	return s.withIndex(ctx, m.Kind, 1, func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
		if class == provider.Retryable {
			// A timed-out call may have delivered the file anyway: the seat
			// stays counted while a removal job cleans up any copy, so the
			// account never runs on two servers.
			ok, err := tx.SeatTransition(ctx, seatID, model.SeatReleasing, cause.Error(), model.SeatProvisioning, model.SeatReserved)
			if err != nil || !ok {
				return err
			}
			if err := s.jobs.Remove(ctx, tx, seatID); err != nil {
				return err
			}
		} else {
			// Refused outright: nothing reached the pool. A member-level
			// refusal is written so that recentFailures finds it.
			text := cause.Error()
			if class == provider.MemberPermanent && !strings.HasPrefix(text, memberRefusal) {
				text = memberRefusal + text
			}
			ok, err := tx.SeatTransition(ctx, seatID, model.SeatFailed, text, model.SeatProvisioning, model.SeatReserved)
			if err != nil || !ok {
				return err
			}
			if err := tx.PoolGiveBack(ctx, seat.PoolID); err != nil {
				return err
			}
			ix.Release(seat.PoolID, m.AffinityKey)
		}
		if err := tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Pool: seat.Pool, Action: model.ActDeliveryFailed, From: seat.Pool,
			Reason: fmt.Sprintf("%s: %v", class, cause)}); err != nil {
			return err
		}
		if err := s.jobs.DrainQueue(ctx, tx, m.Kind); err != nil {
			return err
		}
		crashpoint.Hit("deliveryfailed.before-commit")
		if class == provider.MemberPermanent {
			if seat.MoveFrom != 0 { // the member keeps its old seat
				return s.finishMove(ctx, tx, seat.MoveFrom, model.MoveFailed, cause.Error())
			}
			// This pool refused this member, not everyone: it is excluded
			// for the member until FailedPoolWindow passes (recentFailures
			// finds the failed seat), and the member goes to another pool
			// of its kind, or waits for one in the queue. Only when no
			// other pool could take it is it rejected and its use given back.
			exclude, until, err := s.exclusions(ctx, &tx.Queries, m.ID)
			if err != nil {
				return err
			}
			exclude = append(exclude, seat.PoolID)
			if other, err := s.elsewhere(ctx, &tx.Queries, m, exclude); err != nil {
				return err
			} else if other {
				_, err = s.placeTx(ctx, tx, ix, placeReq{member: m, exclude: exclude, codeID: seat.CodeID, actor: model.ActorSystem, queueOnMiss: true, excludedUntil: until})
				return err
			}
			if err := s.refundUse(ctx, tx, seat, cause.Error()); err != nil {
				return err
			}
			if _, err := tx.MemberSetState(ctx, m.ID, model.MemberFailed, cause.Error()); err != nil {
				return err
			}
			return tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Action: model.ActRejected, Reason: cause.Error()})
		}
		exclude, err := s.recentFailures(ctx, &tx.Queries, m.ID)
		if err != nil {
			return err
		}
		exclude = append(exclude, seat.PoolID)
		if seat.MoveFrom != 0 {
			old, err := tx.SeatGet(ctx, seat.MoveFrom)
			if err != nil {
				return err
			}
			if !old.State.Live() {
				return nil
			}
			exclude = append(exclude, old.PoolID)
		}
		_, err = s.placeTx(ctx, tx, ix, placeReq{member: m, exclude: exclude, moveFrom: seat.MoveFrom, codeID: seat.CodeID, actor: model.ActorSystem, queueOnMiss: true})
		return err
	})
}

// queuedCode is the code a queued user's new seat rests on: the code bound
// to the e-mail that is valid now (the one redeemed when the user was
// queued, or one redeemed since), so the seat ends when the code does. A
// move carries its code itself (startMove); servers have none.
func (s *Service) queuedCode(ctx context.Context, tx *store.Tx, m model.Member, fromSeat int64) (int64, error) {
	if m.Kind != model.KindTeam || fromSeat != 0 {
		return 0, nil
	}
	c, err := tx.CodeValidForEmail(ctx, m.ExternalID, 0, tx.Now())
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return c.ID, err
}

// DrainQueue places waiting members of a kind, in queue order, while room
// exists; it returns how many it placed.
func (s *Service) DrainQueue(ctx context.Context, kind model.Kind) (int, error) {
	entries, err := s.st.QueueList(ctx, kind, 1000)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	p, err := s.placerFor(kind)
	if err != nil {
		return 0, err
	}
	placed := 0
	var chunkTime time.Duration
	for start := 0; start < len(entries); start += placeChunk {
		if dl, ok := ctx.Deadline(); ok && start > 0 && time.Until(dl) < 2*chunkTime {
			// Out of time for another chunk (a job's timeout): hand the
			// rest to a fresh drain rather than fail with the deadline.
			return placed, s.st.InTx(ctx, func(tx *store.Tx) error { return s.jobs.DrainQueue(ctx, tx, kind) })
		}
		chunkStart := time.Now()
		chunk := entries[start:min(start+placeChunk, len(entries))]
		n := 0
		held := false // an entry of the chunk had pools excluded for it
		err := s.withIndex(ctx, kind, len(chunk), func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
			n, held = 0, false
			if start == 0 {
				// Room appeared (that is why a drain runs): make sure the
				// index sees all of it, whoever made it.
				if _, err := s.syncRoom(ctx, tx, ix, p); err != nil {
					return err
				}
			}
			for _, listed := range chunk {
				// The list was read before this transaction: another drain
				// (on this or another replica) may have served the entry
				// since. Re-read it, locked, and skip it if it changed.
				e, err := tx.QueueGetLocked(ctx, listed.MemberID)
				if errors.Is(err, store.ErrNotFound) || (err == nil && e.FromSeat != listed.FromSeat) {
					continue
				}
				if err != nil {
					return err
				}
				m, err := tx.MemberGet(ctx, e.MemberID)
				if err != nil {
					return err
				}
				exclude, err := s.recentFailures(ctx, &tx.Queries, m.ID)
				if err != nil {
					return err
				}
				held = held || len(exclude) > 0
				if e.FromSeat != 0 {
					old, err := tx.SeatGet(ctx, e.FromSeat)
					if err != nil {
						return err
					}
					if !old.State.Live() {
						// The seat to leave is gone: nothing to move.
						if _, err := tx.QueueRemove(ctx, m.ID); err != nil {
							return err
						}
						if err := s.finishMove(ctx, tx, old.ID, model.MoveCancelled, "the seat to leave is gone"); err != nil {
							return err
						}
						continue
					}
					exclude = append(exclude, old.PoolID)
				}
				codeID, err := s.queuedCode(ctx, tx, m, e.FromSeat)
				if err != nil {
					return err
				}
				o, err := s.placeTx(ctx, tx, ix, placeReq{member: m, exclude: exclude, moveFrom: e.FromSeat, codeID: codeID, actor: model.ActorSystem})
				if err != nil {
					return err
				}
				if o.Status == OutcomePlaced {
					n++
				}
			}
			crashpoint.Hit("drainqueue.before-commit")
			return nil
		})
		if err != nil {
			return placed, err
		}
		placed += n
		chunkTime = max(chunkTime, time.Since(chunkStart))
		if n == 0 && !held {
			// Nothing fit in a whole chunk: the rest waits for room. (A
			// chunk whose members had pools excluded says nothing about
			// the room the entries behind it need.)
			break
		}
	}
	return placed, nil
}

// CancelQueued takes a member out of the queue (admin).
func (s *Service) CancelQueued(ctx context.Context, kind model.Kind, externalID, actor string) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		m, err := tx.MemberGetByExternal(ctx, kind, externalID)
		if err != nil {
			return err
		}
		entry, err := tx.QueueGet(ctx, m.ID)
		if err != nil {
			return fmt.Errorf("%s is not queued: %w", externalID, store.ErrNotFound)
		}
		if _, err := tx.QueueRemove(ctx, m.ID); err != nil {
			return err
		}
		if entry.FromSeat != 0 {
			if err := s.finishMove(ctx, tx, entry.FromSeat, model.MoveCancelled, "queue entry cancelled by "+actor); err != nil {
				return err
			}
		}
		if _, err := tx.SeatLive(ctx, m.ID); errors.Is(err, store.ErrNotFound) {
			if _, err := tx.MemberSetState(ctx, m.ID, model.MemberFailed, "queue entry cancelled by "+actor); err != nil {
				return err
			}
		}
		return tx.HistoryAdd(ctx, model.HistoryEntry{Member: externalID, Action: model.ActQueueCancelled, Reason: "cancelled", Actor: actor})
	})
}

// refundUse gives back the code use a seat that never worked took.
func (s *Service) refundUse(ctx context.Context, tx *store.Tx, seat model.Seat, reason string) error {
	if seat.CodeID == 0 {
		return nil
	}
	c, err := tx.CodeGet(ctx, seat.CodeID)
	if err != nil {
		return err
	}
	if c.UsedCount == 0 {
		return nil
	}
	c.UsedCount--
	if err := tx.CodeUpdate(ctx, c); err != nil {
		return err
	}
	return tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Action: model.ActCodeRefunded, CodeID: c.ID,
		Reason: fmt.Sprintf("seat failed (%s): use given back (%d/%d)", reason, c.UsedCount, c.MaxUses)})
}

// Redeliver puts an active seat back to provisioning and enqueues its
// delivery again (reconciliation found the provider lacks the member).
func (s *Service) Redeliver(ctx context.Context, seatID int64, reason string) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		seat, err := tx.SeatGet(ctx, seatID)
		if err != nil {
			return err
		}
		ok, err := tx.SeatTransition(ctx, seatID, model.SeatProvisioning, reason, model.SeatActive)
		if err != nil || !ok {
			return err
		}
		if err := s.jobs.Deliver(ctx, tx, seatID); err != nil {
			return err
		}
		return tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Pool: seat.Pool, Action: model.ActReconcileRedeliver, To: seat.Pool, Reason: reason})
	})
}

// PoolRefused marks a pool whose provider refused our credentials or
// settings (401/403, host key mismatch): credential_invalid, so nobody new
// goes there; an alert is logged and recorded in history. A pool already
// unhealthy keeps its status.
func (s *Service) PoolRefused(ctx context.Context, poolID int64, cause error) error {
	p, err := s.st.PoolGet(ctx, poolID)
	if err != nil || p.Status.Unhealthy() {
		return err
	}
	_, err = s.SetPoolStatus(ctx, poolID, model.StatusCredentialInvalid, "provider refused credentials: "+cause.Error(), model.ActorProvider, p.Status)
	return err
}
