package alloc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/crashpoint"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// Errors of the public redeem, status and rebind flows. Unknown codes and
// codes bound to another email share one error, so that an attacker cannot
// tell which codes exist.
var (
	ErrCodeNotValid = errors.New("this code cannot be used with this email: check both and try again")
	ErrCodeDisabled = errors.New("this code has been disabled; ask whoever gave it to you")
	ErrCodeExpired  = errors.New("this code has expired")
	ErrCodeUsedUp   = errors.New("this code has no uses left")
	ErrNoSeat       = errors.New("there is no seat for this email and code yet: redeem the code first")
)

// LimitError refuses a paid move past the code's rebind limit.
type LimitError struct{ Count, Limit int }

func (e *LimitError) Error() string {
	return fmt.Sprintf("rebind limit reached: %d of %d moves used; a move is free only when your team is unhealthy", e.Count, e.Limit)
}

// RateError refuses a request over a rate limit.
type RateError struct {
	RetryAfter time.Duration
	What       string
}

func (e *RateError) Error() string {
	return fmt.Sprintf("too many %s; try again in %d seconds", e.What, int(e.RetryAfter.Seconds()+0.999))
}

// SeatStatus is what a user sees of their seat.
type SeatStatus struct {
	State       model.TeamSeatState `json:"state"`
	Pool        string              `json:"pool,omitempty"`
	Position    int                 `json:"position"`
	ExpiresAt   time.Time           `json:"expires_at,omitzero"`
	RebindCount int                 `json:"rebind_count"`
	RebindLimit int                 `json:"rebind_limit"`
	Moving      bool                `json:"moving,omitempty"`
	// FreeMove tells whether a move now would be free (the team is unhealthy).
	FreeMove bool   `json:"free_move"`
	Message  string `json:"message,omitempty"`
	// Why tells a queued user why they wait, as data (counts by cause,
	// see publicWhy); nil otherwise.
	Why *model.Why `json:"why,omitempty"`
	// WouldFit: when queued by placement, the single changes that would
	// seat the user now, cheapest first, without the teams' names (see
	// publicWouldFit).
	WouldFit []model.FitChange `json:"would_fit,omitempty"`
	// LastMove is the seat holder's latest finished move (what the move
	// e-mail said); nil when there is none or no live seat.
	LastMove *LastMove `json:"last_move,omitempty"`
}

// LastMove is a user's latest finished move, as the status page shows it:
// the new team, why (as a cause, the user's words are the page's), and
// whether it counted against the code's moves (SeatStatus's rebind count
// and limit are the moves used and allowed).
type LastMove struct {
	From       string          `json:"from"`
	To         string          `json:"to"`
	Cause      model.MoveCause `json:"cause"`
	Paid       bool            `json:"paid"`
	FinishedAt time.Time       `json:"finished_at"`
}

// lastMove reads member m's latest finished move; nil when there is none.
func lastMove(ctx context.Context, q *store.Queries, memberID int64) (*LastMove, error) {
	n, err := q.MoveLastDone(ctx, memberID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &LastMove{From: n.From, To: n.To, Cause: model.MoveCauseOf(n.Why), Paid: n.Move.Paid, FinishedAt: n.Move.FinishedAt}, nil
}

// publicWouldFit is the part of a queued member's would-fit answer a
// redeemer may see: what kind of change, not which team.
func publicWouldFit(ch []model.FitChange) []model.FitChange {
	if len(ch) == 0 {
		return nil
	}
	out := make([]model.FitChange, len(ch))
	for i, c := range ch {
		c.Pool, c.PoolID = "", 0
		out[i] = c
	}
	return out
}

// publicWhy is the part of a queued member's reason a redeemer may see:
// how many teams there are and what keeps each from taking them; the
// affinity key and the exclusion's end stay with the operators.
func publicWhy(w *model.Why) *model.Why {
	if w == nil {
		return nil
	}
	return &model.Why{Kind: w.Kind, Considered: w.Considered, Filtered: w.Filtered, Removing: w.Removing}
}

// removingMessage is the note of a member queued behind their own removal
// (model.Why.Removing); empty otherwise.
func removingMessage(w *model.Why) string {
	if w == nil || w.Removing == "" {
		return ""
	}
	return "waiting for your removal from " + w.Removing + " to finish; you get a seat as soon as it does"
}

// checkCode validates a typed email and code and returns the code if the
// email may use it. lock takes the code's row lock (PostgreSQL).
func (s *Service) checkCode(ctx context.Context, q *store.Queries, emailIn, codeIn string, lock bool) (string, model.Code, error) {
	email, err := codes.Email(emailIn)
	if err != nil {
		return "", model.Code{}, Invalidf("%v", err)
	}
	norm, err := codes.Normalize(codeIn)
	if err != nil {
		return "", model.Code{}, Invalidf("%v", err)
	}
	c, err := q.CodeByLookup(ctx, norm, lock)
	if errors.Is(err, store.ErrNotFound) {
		return "", c, ErrCodeNotValid
	}
	if err != nil {
		return "", c, err
	}
	if c.BoundEmail != "" && subtle.ConstantTimeCompare([]byte(c.BoundEmail), []byte(email)) != 1 {
		return "", c, ErrCodeNotValid
	}
	return email, c, nil
}

func (s *Service) expired(c model.Code, now time.Time) bool {
	return c.Status == model.CodeExpired || (!c.EndsAt.IsZero() && !c.EndsAt.After(now))
}

// status describes the member's seat under code c.
func (s *Service) status(ctx context.Context, q *store.Queries, email string, c model.Code) (SeatStatus, error) {
	st := SeatStatus{ExpiresAt: c.EndsAt, RebindCount: c.RebindCount, RebindLimit: c.RebindLimit}
	m, err := q.MemberGetByExternal(ctx, model.KindTeam, email)
	if errors.Is(err, store.ErrNotFound) {
		st.State = model.TeamSeatUnused
		return st, nil
	}
	if err != nil {
		return st, err
	}
	seat, err := q.SeatLive(ctx, m.ID)
	switch {
	case err == nil:
		st.Pool = seat.Pool
		st.State = model.TeamSeatPending
		if seat.State == model.SeatActive {
			st.State = model.TeamSeatActive
		}
		if st.Moving, err = s.moving(ctx, q, seat); err != nil {
			return st, err
		}
		p, err := q.PoolGet(ctx, seat.PoolID)
		if err != nil {
			return st, err
		}
		st.FreeMove = p.Status.Unhealthy()
		if pos, err := q.QueuePosition(ctx, m.ID); err == nil && pos > 0 {
			st.Position = pos
		}
		if st.LastMove, err = lastMove(ctx, q, m.ID); err != nil {
			return st, err
		}
		return st, nil
	case !errors.Is(err, store.ErrNotFound):
		return st, err
	}
	pos, err := q.QueuePosition(ctx, m.ID)
	if err != nil {
		return st, err
	}
	switch {
	case pos > 0:
		st.State, st.Position, st.Why = model.TeamSeatQueued, pos, publicWhy(m.Why)
		st.Message = removingMessage(m.Why)
	case s.expired(c, q.Now()):
		st.State = model.TeamSeatExpired
	default:
		st.State = model.TeamSeatReleased
		// Given up, but the team may still be taking the member out: say
		// so until the removal ends (a redeem meanwhile waits for it).
		leaving, err := q.SeatList(ctx, store.SeatFilter{MemberID: m.ID, States: []model.SeatState{model.SeatReleasing, model.SeatReleaseFailed}, Limit: 1})
		if err != nil {
			return st, err
		}
		if len(leaving) > 0 {
			st.State, st.Pool = model.TeamSeatRemoving, leaving[0].Pool
		}
	}
	return st, nil
}

// Status answers the public status page.
func (s *Service) Status(ctx context.Context, emailIn, codeIn string) (SeatStatus, error) {
	q := s.st.Reader()
	email, c, err := s.checkCode(ctx, q, emailIn, codeIn, false)
	if err != nil {
		return SeatStatus{}, err
	}
	if c.BoundEmail == "" {
		// Unused: answer as for an unknown code, so status pages cannot be
		// used to find codes that exist.
		return SeatStatus{}, ErrCodeNotValid
	}
	return s.status(ctx, q, email, c)
}

// Redeem gives the email a seat in a healthy team of the code's group, or a
// place in the queue. Repeating the same request returns the same seat.
//
// Check first, lock later: everything that can refuse the request, or
// answer a repeat, without writing runs first on the read pool, outside
// any lock or write transaction, so a flood of wrong codes never touches
// the write path. The checks that matter under a race run again, cheaply,
// in the write transaction.
//
// Every redeem is counted in berth_redeem_requests_total here, whichever
// front end (API, console, Telegram) asked.
func (s *Service) Redeem(ctx context.Context, emailIn, codeIn, actor string) (SeatStatus, error) {
	res, err := s.redeem(ctx, emailIn, codeIn, actor)
	metrics.RedeemRequest(redeemOutcome(res, err))
	return res, err
}

func (s *Service) redeem(ctx context.Context, emailIn, codeIn, actor string) (SeatStatus, error) {
	res, item, err := s.redeemPrecheck(ctx, emailIn, codeIn)
	if item == nil || err != nil {
		return res, err
	}
	// The batch may place this redeem together with the others in it
	// (redeemBulk); what it cannot, it leaves to fn.
	item.actor, item.res = actor, &res
	p, err := s.placerFor(model.KindTeam)
	if err != nil {
		return res, err
	}
	err = p.submitItem(ctx, 1, item, func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
		email, c, err := s.checkCode(ctx, &tx.Queries, emailIn, codeIn, true)
		if err != nil {
			return err
		}
		now := tx.Now()
		switch {
		case c.Status == model.CodeDisabled:
			return ErrCodeDisabled
		case s.expired(c, now):
			return ErrCodeExpired
		}
		labels := codeLabels(c)
		m, created, err := tx.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindTeam, ExternalID: email, Labels: labels})
		if err != nil {
			return err
		}
		var hist []model.HistoryEntry
		if c.BoundEmail == "" {
			hist = append(hist, bindCode(&c, email, now, actor))
		}
		if !created {
			cur, err := s.status(ctx, &tx.Queries, email, c)
			if err != nil {
				return err
			}
			if cur.State.Live() {
				// Idempotent: the email already has its seat (or place).
				res = cur
				if err := tx.HistoryAddMany(ctx, hist...); err != nil {
					return err
				}
				return tx.CodeUpdate(ctx, c)
			}
		}
		if c.UsedCount >= c.MaxUses {
			return ErrCodeUsedUp
		}
		hist = append(hist, useCode(&c, email, actor))
		if err := tx.CodeUpdate(ctx, c); err != nil {
			return err
		}
		if !created {
			if _, err := tx.MemberSetState(ctx, m.ID, model.MemberPending, ""); err != nil {
				return err
			}
		}
		m.Labels = labels
		// A member created just now holds no seat and no queue place: the
		// placement skips looking for them (fresh).
		o, err := s.placeTx(ctx, tx, ix, placeReq{member: m, codeID: c.ID, actor: actor, queueOnMiss: true, fresh: created, history: hist})
		if err != nil {
			return err
		}
		switch o.Status {
		case OutcomePlaced:
			res = newSeatStatus(c, o.Pool)
		case OutcomeQueued:
			res = SeatStatus{State: model.TeamSeatQueued, Position: o.Position, ExpiresAt: c.EndsAt, RebindCount: c.RebindCount, RebindLimit: c.RebindLimit,
				Why: publicWhy(o.Why), WouldFit: publicWouldFit(o.WouldFit), Message: removingMessage(o.Why)}
		default:
			return fmt.Errorf("redeem: unexpected placement outcome %q", o.Status)
		}
		return nil
	})
	return res, err
}

// codeLabels are the labels a code gives its user: the group its team must
// carry, and the code's other labels.
func codeLabels(c model.Code) map[string]string {
	labels := map[string]string{}
	for k, v := range c.Labels {
		labels[k] = v
	}
	if c.Group != "" {
		labels["group"] = c.Group
	}
	return labels
}

// bindCode binds an unbound code to email at its first use and starts its
// clock (ends_at = now + valid_for, capped by expires_at); it returns the
// history row.
func bindCode(c *model.Code, email string, now time.Time, actor string) model.HistoryEntry {
	c.BoundEmail, c.Status, c.ActivatedAt = email, model.CodeBound, now
	if c.ValidFor > 0 {
		end := now.Add(time.Duration(c.ValidFor))
		if c.EndsAt.IsZero() || end.Before(c.EndsAt) {
			c.EndsAt = end
		}
	}
	return model.HistoryEntry{Member: email, Action: model.ActCodeBound, CodeID: c.ID, Actor: actor,
		Reason: "code …" + c.Hint + " bound; ends " + fmtTime(c.EndsAt)}
}

// useCode takes one use of a code and returns the history row.
func useCode(c *model.Code, email, actor string) model.HistoryEntry {
	c.UsedCount++
	return model.HistoryEntry{Member: email, Action: model.ActCodeUsed, CodeID: c.ID, Actor: actor,
		Reason: fmt.Sprintf("use %d of %d", c.UsedCount, c.MaxUses)}
}

// newSeatStatus answers a redeem that got a new seat: it is provisioning
// in a pool the guard found active.
func newSeatStatus(c model.Code, pool string) SeatStatus {
	return SeatStatus{State: model.TeamSeatPending, Pool: pool, ExpiresAt: c.EndsAt, RebindCount: c.RebindCount, RebindLimit: c.RebindLimit}
}

// redeemPrecheck answers a redeem from the read pool when it can: a
// refusal, or the seat (or queue place) the email already holds with this
// code. done is false when the request must go on to the write path.
func (s *Service) redeemPrecheck(ctx context.Context, emailIn, codeIn string) (res SeatStatus, item *redeemItem, err error) {
	q := s.st.Reader()
	refuse := func(reason string, err error) (SeatStatus, *redeemItem, error) {
		metrics.RefusedEarly("redeem", reason)
		return SeatStatus{}, nil, err
	}
	email, c, err := s.checkCode(ctx, q, emailIn, codeIn, false)
	switch {
	case errors.Is(err, ErrInvalid):
		return refuse("invalid", err)
	case errors.Is(err, ErrCodeNotValid):
		return refuse("not_valid", err)
	case err != nil:
		return SeatStatus{}, nil, err
	case c.Status == model.CodeDisabled:
		return refuse("disabled", ErrCodeDisabled)
	case s.expired(c, q.Now()):
		return refuse("expired", ErrCodeExpired)
	}
	if c.BoundEmail != "" {
		cur, err := s.status(ctx, q, email, c)
		if err != nil {
			return cur, nil, err
		}
		if cur.State.Live() {
			metrics.RefusedEarly("redeem", "repeat")
			return cur, nil, nil
		}
	}
	if c.UsedCount >= c.MaxUses {
		return refuse("used_up", ErrCodeUsedUp)
	}
	return SeatStatus{}, &redeemItem{email: email, codeID: c.ID}, nil
}

// RebindResult answers a move request.
type RebindResult struct {
	Free        bool                `json:"free"`
	Message     string              `json:"message"`
	State       model.TeamSeatState `json:"state"`
	Pool        string              `json:"pool,omitempty"`
	Position    int                 `json:"position,omitempty"`
	RebindCount int                 `json:"rebind_count"`
	RebindLimit int                 `json:"rebind_limit"`
	// WouldFit: when queued, what would seat the user now (publicWouldFit).
	WouldFit []model.FitChange `json:"would_fit,omitempty"`
}

// RebindPerMinute is how many move requests one code may make a minute.
const RebindPerMinute = 3

// Rebind moves the email's seat to another team (换车). It is free, and
// allowed past the limit, when the current team is unhealthy; otherwise it
// costs one rebind. Make before break: the old seat is released only when
// the new one is active.
//
// An unknown code, or one bound to another e-mail, is refused on the read
// pool first. Otherwise the request takes a rate event for the code (3 a
// minute) under the code's row lock — exact across replicas — in the same
// transaction as the move, in the team placer's next batch; a refusal after
// that (rate, limit, no seat) commits the rate event, so refused requests
// count.
//
// Every move request is counted in rebind_requests_total here, whichever
// front end asked.
func (s *Service) Rebind(ctx context.Context, emailIn, codeIn, actor string) (RebindResult, error) {
	res, err := s.rebind(ctx, emailIn, codeIn, actor)
	metrics.RebindRequest(rebindStatus(err), res.Free)
	return res, err
}

func (s *Service) rebind(ctx context.Context, emailIn, codeIn, actor string) (RebindResult, error) {
	if _, c, err := s.checkCode(ctx, s.st.Reader(), emailIn, codeIn, false); err != nil || c.BoundEmail == "" {
		reason := "not_valid"
		switch {
		case errors.Is(err, ErrInvalid):
			reason = "invalid"
		case err == nil:
			err = ErrCodeNotValid
		case !errors.Is(err, ErrCodeNotValid):
			return RebindResult{}, err
		}
		metrics.RefusedEarly("rebind", reason)
		return RebindResult{}, err
	}
	var res RebindResult
	var refusal error
	err := s.withIndex(ctx, model.KindTeam, 1, func(ctx context.Context, tx *store.Tx, ix *placement.Index) error {
		res, refusal = RebindResult{}, nil
		email, c, err := s.checkCode(ctx, &tx.Queries, emailIn, codeIn, true)
		if err != nil {
			return err
		}
		if c.BoundEmail == "" {
			return ErrCodeNotValid
		}
		wait, err := tx.RateTake(ctx, fmt.Sprintf("rebind:%d", c.ID), RebindPerMinute, time.Minute)
		if err != nil {
			return err
		}
		if wait > 0 {
			refusal = &RateError{RetryAfter: wait, What: "move requests for this code (3 a minute)"}
			return nil // keep the rate event
		}
		crashpoint.Hit("rebind.after-rate-take")
		refusal, err = s.rebindTx(ctx, tx, ix, email, c, actor, &res)
		return err
	})
	if err == nil {
		err = refusal
	}
	return res, err
}

// rebindTx starts the move of a rebind whose rate event is taken. A
// refusal is returned as refusal, with a nil error, so the rate event
// commits.
func (s *Service) rebindTx(ctx context.Context, tx *store.Tx, ix *placement.Index, email string, c model.Code, actor string, res *RebindResult) (refusal, err error) {
	switch {
	case c.Status == model.CodeDisabled:
		return ErrCodeDisabled, nil
	case s.expired(c, tx.Now()):
		return ErrCodeExpired, nil
	}
	res.RebindCount, res.RebindLimit = c.RebindCount, c.RebindLimit
	m, err := tx.MemberGetByExternal(ctx, model.KindTeam, email)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoSeat, nil
	}
	if err != nil {
		return nil, err
	}
	seat, err := tx.SeatLive(ctx, m.ID)
	if errors.Is(err, store.ErrNotFound) {
		pos, err := tx.QueuePosition(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		if pos > 0 {
			res.State, res.Position, res.Message = model.TeamSeatQueued, pos, "you are waiting for a seat; there is nothing to move yet"
			return nil, nil
		}
		return ErrNoSeat, nil
	}
	if err != nil {
		return nil, err
	}
	if moving, err := s.moving(ctx, &tx.Queries, seat); err != nil {
		return nil, err
	} else if moving {
		res.State, res.Pool, res.Message = model.TeamSeatPending, seat.Pool, "a move is already in progress; nothing was charged"
		return nil, nil
	}
	pool, err := tx.PoolGet(ctx, seat.PoolID)
	if err != nil {
		return nil, err
	}
	res.Free = pool.Status.Unhealthy()
	if !res.Free && c.RebindCount >= c.RebindLimit {
		return &LimitError{Count: c.RebindCount, Limit: c.RebindLimit}, nil
	}
	how := fmt.Sprintf("free: %s is %s", pool.Name, pool.Status)
	var hist []model.HistoryEntry
	if !res.Free {
		c.RebindCount++
		if err := tx.CodeUpdate(ctx, c); err != nil {
			return nil, err
		}
		how = fmt.Sprintf("paid: rebind %d of %d", c.RebindCount, c.RebindLimit)
		hist = append(hist, model.HistoryEntry{Member: email, Pool: pool.Name, Action: model.ActRebindCharged, CodeID: c.ID,
			Actor: actor, Reason: how})
	}
	hist = append(hist, model.HistoryEntry{Member: email, Pool: pool.Name, From: pool.Name, Action: model.ActMoveRequested,
		CodeID: c.ID, Actor: actor, Reason: how})
	if err := tx.HistoryAddMany(ctx, hist...); err != nil {
		return nil, err
	}
	o, err := s.startMove(ctx, tx, ix, moveReq{seat: seat, member: m, paid: !res.Free, codeID: c.ID, actor: actor, reason: how})
	if err != nil {
		return nil, err
	}
	res.RebindCount = c.RebindCount
	if o.Status == OutcomePlaced {
		res.State, res.Pool = model.TeamSeatPending, o.Pool
		res.Message = "moving you to " + o.Pool + " (" + how + "); you stay in " + pool.Name + " until the new seat is ready"
	} else {
		res.State, res.Position = model.TeamSeatQueued, o.Position
		res.WouldFit = publicWouldFit(o.WouldFit)
		res.Message = "no other team has room now; you are queued to move (" + how + ") and keep your current seat meanwhile"
	}
	return nil, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// moving reports whether a seat is part of a pending move: the seat being
// left, or the seat being moved to.
func (s *Service) moving(ctx context.Context, q *store.Queries, seat model.Seat) (bool, error) {
	for _, from := range []int64{seat.ID, seat.MoveFrom} {
		if from == 0 {
			continue
		}
		_, err := q.MovePending(ctx, from)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}
