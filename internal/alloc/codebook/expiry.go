package codebook

import (
	"context"
	"errors"

	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// ExpireDue ends the codes whose time is up. A seat resting on an expired
// code is released (removal retries with backoff; spent retries become
// release_failed with an alert), unless the same email holds another valid
// code: then the seat carries over to it and nobody is removed.
func (s *Service) ExpireDue(ctx context.Context) (expired int, err error) {
	for {
		due, err := s.st.CodesDue(ctx, s.st.Now(), 200)
		if err != nil || len(due) == 0 {
			return expired, err
		}
		for _, c := range due {
			if err := s.expireOne(ctx, c.ID); err != nil {
				return expired, err
			}
			expired++
		}
	}
}

func (s *Service) expireOne(ctx context.Context, codeID int64) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		c, err := tx.CodeGet(ctx, codeID)
		if err != nil {
			return err
		}
		now := tx.Now()
		if c.Status == model.CodeExpired || c.EndsAt.IsZero() || c.EndsAt.After(now) {
			return nil // changed meanwhile
		}
		c.Status = model.CodeExpired
		if err := tx.CodeUpdate(ctx, c); err != nil {
			return err
		}
		if err := tx.HistoryAdd(ctx, model.HistoryEntry{Member: c.BoundEmail, Action: model.ActCodeExpired, CodeID: c.ID,
			Reason: "code …" + c.Hint + " ended " + when(c.EndsAt)}); err != nil {
			return err
		}
		if c.BoundEmail == "" {
			return nil
		}
		seats, err := tx.SeatsByCode(ctx, c.ID)
		if err != nil {
			return err
		}
		other, err := tx.CodeValidForEmail(ctx, c.BoundEmail, c.ID, now)
		carry := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		for _, seat := range seats {
			if carry {
				if err := tx.SeatSetCode(ctx, seat.ID, other.ID); err != nil {
					return err
				}
				if err := tx.HistoryAdd(ctx, model.HistoryEntry{Member: seat.Member, Pool: seat.Pool, Action: model.ActSeatCarried, CodeID: other.ID,
					Reason: "code …" + c.Hint + " expired; the seat now rests on code …" + other.Hint + " (ends " + when(other.EndsAt) + ")"}); err != nil {
					return err
				}
				continue
			}
			if err := s.rt.EndSeatTx(ctx, tx, seat, "code …"+c.Hint+" expired"); err != nil {
				return err
			}
		}
		if carry {
			return nil
		}
		// A member still waiting for a seat on this code waits no more.
		m, err := tx.MemberGetByExternal(ctx, model.KindTeam, c.BoundEmail)
		if err != nil {
			return nil
		}
		if e, err := tx.QueueGet(ctx, m.ID); err == nil && e.FromSeat == 0 {
			if _, err := tx.QueueRemove(ctx, m.ID); err != nil {
				return err
			}
			if _, err := tx.MemberSetState(ctx, m.ID, model.MemberFailed, "code expired while queued"); err != nil {
				return err
			}
		}
		return nil
	})
}

// when is t as history rows tell it: UTC, RFC 3339, or "never".
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
