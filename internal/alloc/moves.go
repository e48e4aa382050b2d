package alloc

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthhq/berth/internal/crashpoint"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// moveReq asks to move a member off a live seat.
type moveReq struct {
	seat    model.Seat
	member  model.Member
	exclude []int64 // besides the seat's own pool
	paid    bool
	codeID  int64
	actor   string
	reason  string
}

// ErrMoveInProgress: the seat already has a pending move.
var ErrMoveInProgress = errors.New("a move of this seat is already in progress")

// startMove records a pending move and places the member elsewhere (make
// before break: the old seat is released only when the new one is active),
// or queues it as a move, ahead of new members. s.mu held.
func (s *Service) startMove(ctx context.Context, tx *store.Tx, ix *placement.Index, r moveReq) (Outcome, error) {
	mv := model.Move{MemberID: r.member.ID, FromSeat: r.seat.ID, CodeID: r.codeID, Paid: r.paid, Reason: r.reason, Actor: r.actor}
	if _, err := tx.MoveCreate(ctx, mv); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Outcome{}, ErrMoveInProgress
		}
		return Outcome{}, err
	}
	// The seat was read before this transaction: a move of it that
	// finished in between left it releasing, and moving it again would
	// give the member a second seat. Now that this move holds the seat
	// (the one pending move a seat may have), read it again.
	if now, err := tx.SeatGet(ctx, r.seat.ID); err != nil {
		return Outcome{}, err
	} else if !now.State.Live() {
		return Outcome{}, Invalidf("seat %d of %s is %s now; only live seats move", r.seat.ID, r.seat.Member, now.State)
	}
	crashpoint.Hit("move.after-create")
	return s.placeTx(ctx, tx, ix, placeReq{member: r.member, exclude: append(r.exclude, r.seat.PoolID), moveFrom: r.seat.ID,
		actor: r.actor, queueOnMiss: true})
}

// moveTarget points the pending move off fromSeat at its new seat.
func (s *Service) moveTarget(ctx context.Context, tx *store.Tx, fromSeat, toSeat int64) error {
	mv, err := tx.MovePending(ctx, fromSeat)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return tx.MoveSetTarget(ctx, mv.ID, toSeat)
}

// finishMove ends the pending move off fromSeat. A paid move that fails or
// is cancelled gives its rebind back, exactly once.
func (s *Service) finishMove(ctx context.Context, tx *store.Tx, fromSeat int64, state model.MoveState, reason string) error {
	mv, err := tx.MovePending(ctx, fromSeat)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ok, err := tx.MoveFinish(ctx, mv.ID, state, reason)
	if err != nil || !ok {
		return err
	}
	if state == model.MoveDone {
		return s.notifyMoveDone(ctx, tx, mv)
	}
	action := model.ActMoveFailed
	if state == model.MoveCancelled {
		action = model.ActMoveCancelled
	}
	if err := tx.HistoryAdd(ctx, model.HistoryEntry{Member: mv.Member, Action: action, Reason: reason, CodeID: mv.CodeID}); err != nil {
		return err
	}
	if !mv.Paid || mv.CodeID == 0 {
		return nil
	}
	c, err := tx.CodeGet(ctx, mv.CodeID)
	if err != nil {
		return err
	}
	if c.RebindCount > 0 {
		c.RebindCount--
		if err := tx.CodeUpdate(ctx, c); err != nil {
			return err
		}
	}
	return tx.HistoryAdd(ctx, model.HistoryEntry{Member: mv.Member, Action: model.ActRebindRefunded, CodeID: mv.CodeID,
		Reason: fmt.Sprintf("paid move %s: rebind given back (%d/%d)", state, c.RebindCount, c.RebindLimit)})
}

// MoveNotifier is an Enqueuer that can also tell users of their finished
// moves (package jobs: the move_notice job, package notify's mail).
type MoveNotifier interface {
	// NotifiesMoves tells whether move mails are configured (BERTH_SMTP_URL).
	NotifiesMoves() bool
	// MoveDone enqueues the mail about a team member's finished move.
	MoveDone(ctx context.Context, tx *store.Tx, moveID int64) error
}

// notifyMoveDone enqueues the user's mail about a move just marked done, in
// the same transaction: a move that fails or is cancelled gets none, and a
// done one is never without its job. Only team members (an e-mail address)
// are told; nothing is enqueued when no mail is configured.
func (s *Service) notifyMoveDone(ctx context.Context, tx *store.Tx, mv model.Move) error {
	n, ok := s.jobs.(MoveNotifier)
	if !ok || !n.NotifiesMoves() {
		return nil
	}
	m, err := tx.MemberGet(ctx, mv.MemberID)
	if err != nil || m.Kind != model.KindTeam {
		return err
	}
	if err := n.MoveDone(ctx, tx, mv.ID); err != nil {
		return fmt.Errorf("enqueue the move mail: %w", err)
	}
	return nil
}

// MoveSeat moves a member off its seat (admin): to the pool named to, or to
// the best pool when to is empty.
func (s *Service) MoveSeat(ctx context.Context, seatID int64, to string, actor string) (Outcome, error) {
	seat, err := s.st.SeatGet(ctx, seatID)
	if err != nil {
		return Outcome{}, err
	}
	if !seat.State.Live() {
		return Outcome{}, Invalidf("seat %d is %s; only live seats move", seatID, seat.State)
	}
	m, err := s.st.MemberGet(ctx, seat.MemberID)
	if err != nil {
		return Outcome{}, err
	}
	var exclude []int64
	if to != "" {
		target, err := s.st.PoolGetByName(ctx, to)
		if err != nil {
			return Outcome{}, err
		}
		if target.ID == seat.PoolID {
			return Outcome{}, Invalidf("seat %d is already on %s", seatID, to)
		}
		if target.Kind != m.Kind {
			return Outcome{}, Invalidf("%s is a %s pool; the member needs a %s pool", to, target.Kind, m.Kind)
		}
		pools, err := s.st.PoolList(ctx, m.Kind)
		if err != nil {
			return Outcome{}, err
		}
		for _, p := range pools {
			if p.ID != target.ID {
				exclude = append(exclude, p.ID)
			}
		}
	}
	var o Outcome
	err = s.withIndex(ctx, m.Kind, 1, func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
		var err error
		o, err = s.startMove(ctx, tx, ix, moveReq{seat: seat, member: m, exclude: exclude, actor: actor, codeID: seat.CodeID,
			reason: "moved by " + actor})
		if err == nil && to != "" && o.Status != OutcomePlaced {
			return Invalidf("%s cannot take the member now: %s", to, o.Reason)
		}
		return err
	})
	return o, err
}

// MoveSeatWithin moves the member of a live seat, make before break, to a
// pool outside exclude (the seat's own pool is always left out): a plan's
// move step (package alloc/plans). With pinned, a member who cannot be
// placed now is refused (ErrInvalid, nothing written) rather than queued.
func (s *Service) MoveSeatWithin(ctx context.Context, seatID int64, exclude []int64, pinned bool, reason, actor string) (Outcome, error) {
	seat, err := s.st.SeatGet(ctx, seatID)
	if err != nil {
		return Outcome{}, err
	}
	if !seat.State.Live() {
		return Outcome{}, Invalidf("seat %d of %s is %s; only live seats move", seatID, seat.Member, seat.State)
	}
	m, err := s.st.MemberGet(ctx, seat.MemberID)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	err = s.withIndex(ctx, m.Kind, 1, func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
		var err error
		o, err = s.startMove(ctx, tx, ix, moveReq{seat: seat, member: m, exclude: exclude, actor: actor, codeID: seat.CodeID, reason: reason})
		if err == nil && pinned && o.Status != OutcomePlaced {
			return Invalidf("%s cannot be placed where planned now: %s", seat.Member, o.Reason)
		}
		return err
	})
	return o, err
}

// MigrationPlanItem is one member's planned or done migration.
type MigrationPlanItem struct {
	Member string `json:"member"`
	SeatID int64  `json:"seat_id"`
	From   string `json:"from"`
	To     string `json:"to,omitempty"`
	Status string `json:"status"` // one of the Migration* statuses below
	Reason string `json:"reason,omitempty"`
	// Why is Reason as data when it is a placement's (planned, moving, queued).
	Why *model.Why `json:"why,omitempty"`
	// WouldFit: when queued, the single changes that would place the
	// member now, cheapest first (placement.Index.WouldFit).
	WouldFit []model.FitChange `json:"would_fit,omitempty"`
}

// The statuses of a MigrationPlanItem.
const (
	MigrationPlanned = "planned" // a dry run's choice
	MigrationQueued  = "queued"  // no pool has room: waiting in the queue
	MigrationMoving  = "moving"  // a new seat is being set up
	MigrationFailed  = "failed"  // Reason says why
)

// MigrationResult answers a batch migration.
type MigrationResult struct {
	DryRun bool                `json:"dry_run"`
	Moving int                 `json:"moving"`
	Queued int                 `json:"queued"`
	Failed int                 `json:"failed"`
	Items  []MigrationPlanItem `json:"items"`
}

// Migrate moves every member off the pools named from, to the pool to or
// (empty) wherever placement chooses outside from. With dryRun nothing is
// written: the plan shows where each member would go now.
func (s *Service) Migrate(ctx context.Context, from []string, to string, dryRun bool, actor string) (MigrationResult, error) {
	res := MigrationResult{DryRun: dryRun, Items: []MigrationPlanItem{}}
	if len(from) == 0 {
		return res, Invalidf("from is required: the pools to move members off")
	}
	var kind model.Kind
	fromIDs := map[int64]bool{}
	for _, name := range from {
		p, err := s.st.PoolGetByName(ctx, name)
		if err != nil {
			return res, err
		}
		if kind != "" && p.Kind != kind {
			return res, Invalidf("from mixes %s and %s pools", kind, p.Kind)
		}
		kind = p.Kind
		fromIDs[p.ID] = true
	}
	pools, err := s.st.PoolList(ctx, kind)
	if err != nil {
		return res, err
	}
	var exclude []int64
	if to != "" {
		target, err := s.st.PoolGetByName(ctx, to)
		if err != nil {
			return res, err
		}
		if target.Kind != kind || fromIDs[target.ID] {
			return res, Invalidf("to %s must be a %s pool not in from", to, kind)
		}
		for _, p := range pools {
			if p.ID != target.ID {
				exclude = append(exclude, p.ID)
			}
		}
	} else {
		for id := range fromIDs {
			exclude = append(exclude, id)
		}
	}
	var seats []model.Seat
	for id := range fromIDs {
		ss, err := s.st.SeatList(ctx, store.SeatFilter{PoolID: id, States: []model.SeatState{model.SeatActive, model.SeatProvisioning, model.SeatReserved}})
		if err != nil {
			return res, err
		}
		seats = append(seats, ss...)
	}
	if dryRun {
		// Simulate on the live index; withIndexOnly undoes every change.
		err := s.withIndexOnly(ctx, kind, func(ix *placement.Index) error {
			for _, seat := range seats {
				m, err := s.st.Reader().MemberGet(ctx, seat.MemberID)
				if err != nil {
					return err
				}
				req := placement.Request{Kind: kind, AffinityKey: m.AffinityKey, Labels: m.Labels, Exclude: exclude}
				if req.Strategy, err = s.storedStrategy(ctx, s.st.Reader(), kind, m.Labels); err != nil {
					return err
				}
				d := ix.Place(req)
				why := d.Explanation.Why()
				it := MigrationPlanItem{Member: seat.Member, SeatID: seat.ID, From: seat.Pool, Status: MigrationPlanned, Reason: d.Explanation.String(), Why: &why}
				if d.Pool == nil {
					it.Status, it.Reason = MigrationQueued, d.Explanation.Summary()
					it.WouldFit = ix.WouldFit(req, 0)
					res.Queued++
				} else {
					it.To = d.Pool.Name
					ix.Commit(d.Pool.ID, m.AffinityKey)
					res.Moving++
				}
				res.Items = append(res.Items, it)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		return res, nil
	}
	// Nobody new lands on the pools being emptied.
	for id := range fromIDs {
		p, err := s.st.PoolGet(ctx, id)
		if err != nil {
			return res, err
		}
		if p.Status == model.StatusActive || p.Status == model.StatusPaused {
			if _, err := s.SetPoolStatus(ctx, id, model.StatusDraining, "migration by "+actor, actor, p.Status); err != nil {
				return res, err
			}
		}
	}
	for _, seat := range seats {
		m, err := s.st.MemberGet(ctx, seat.MemberID)
		if err != nil {
			return res, err
		}
		it := MigrationPlanItem{Member: seat.Member, SeatID: seat.ID, From: seat.Pool}
		err = s.withIndex(ctx, kind, 1, func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
			o, err := s.startMove(ctx, tx, ix, moveReq{seat: seat, member: m, exclude: exclude, codeID: seat.CodeID, actor: actor,
				reason: "migration by " + actor})
			if err != nil {
				return err
			}
			it.To, it.Reason, it.Why, it.WouldFit = o.Pool, o.Reason, o.Why, o.WouldFit
			it.Status = MigrationMoving
			if o.Status != OutcomePlaced {
				it.Status = MigrationQueued
			}
			return nil
		})
		if err != nil {
			if errors.Is(err, ErrMoveInProgress) || errors.Is(err, ErrInvalid) {
				it.Status, it.Reason = MigrationFailed, err.Error()
				res.Failed++
				res.Items = append(res.Items, it)
				continue
			}
			return res, err
		}
		if it.Status == MigrationMoving {
			res.Moving++
		} else {
			res.Queued++
		}
		res.Items = append(res.Items, it)
	}
	return res, nil
}
