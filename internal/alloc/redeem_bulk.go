package alloc

import (
	"context"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// redeemItem is a redeem that passed the checks on the read path, waiting
// in a team placer's batch.
type redeemItem struct {
	email  string // normalised
	codeID int64
	actor  string
	res    *SeatStatus
	// handled: redeemBulk placed it; otherwise the call's own function runs.
	handled bool
}

// redeemBulk places the common redeems of a batch set-wise, the way a
// ledger applies a batch of transfers: a user never seen before, a code not
// yet bound, room in a team of the code's group. For all of them together
// it locks their codes with one statement, reserves the teams' seats with
// one guarded statement, and writes the members, seats, code bindings,
// member states and history rows with one statement each — about seven
// statements a batch instead of seven a redeem, which is what a placement
// costs on PostgreSQL, where every statement is a round trip. Every other
// redeem (a code already bound, a repeat, an e-mail seen before, no room: a
// queue place, a pool the database refused, the same code or e-mail twice
// in the batch) is left unhandled, for its call to run one at a time after
// the set. Its index changes are journaled like any call's; an error fails
// the whole optimistic run of the batch, which then runs call by call.
func (s *Service) redeemBulk(ctx context.Context, tx *store.Tx, ix *placement.Index, items []*redeemItem) error {
	// One item per code and per e-mail; the rest run alone, after.
	seenCode, seenEmail := map[int64]bool{}, map[string]bool{}
	var cand []*redeemItem
	var ids []int64
	for _, it := range items {
		if seenCode[it.codeID] || seenEmail[it.email] {
			continue
		}
		seenCode[it.codeID], seenEmail[it.email] = true, true
		cand = append(cand, it)
		ids = append(ids, it.codeID)
	}
	locked, err := tx.CodesLocked(ctx, ids)
	if err != nil {
		return err
	}
	codes := make(map[int64]model.Code, len(locked))
	for _, c := range locked {
		codes[c.ID] = c
	}
	now := tx.Now()
	var eligible []*redeemItem
	var elig []model.Code
	var reqs []placement.Request
	for _, it := range cand {
		c, ok := codes[it.codeID]
		if !ok || c.BoundEmail != "" || c.Status != model.CodeUnused || s.expired(c, now) || c.UsedCount >= c.MaxUses {
			continue // changed since the check, or not the common case
		}
		eligible, elig = append(eligible, it), append(elig, c)
		labels := codeLabels(c)
		strategy, err := s.storedStrategy(ctx, &tx.Queries, model.KindTeam, labels)
		if err != nil {
			return err
		}
		reqs = append(reqs, placement.Request{Kind: model.KindTeam, Labels: labels, Strategy: strategy})
	}
	kept, err := s.placeSet(ctx, tx, ix, reqs)
	if err != nil || len(kept) == 0 {
		return err
	}
	params := make([]store.MemberCreateParams, len(kept))
	for k, pl := range kept {
		params[k] = store.MemberCreateParams{Kind: model.KindTeam, ExternalID: eligible[pl.i].email, Labels: reqs[pl.i].Labels}
	}
	members, created, err := tx.MemberCreateMany(ctx, params)
	if err != nil {
		return err
	}
	placed := kept[:0]
	var seats []store.SeatParams
	var memberIDs []int64
	for k, pl := range kept {
		if !created[k] {
			// Seen before: its call runs alone (status, carry-over). Give
			// the seat reserved for it back.
			if err := tx.PoolGiveBack(ctx, pl.pool.ID); err != nil {
				return err
			}
			ix.Release(pl.pool.ID, "")
			continue
		}
		placed = append(placed, pl)
		seats = append(seats, store.SeatParams{MemberID: members[k].ID, PoolID: pl.pool.ID, State: model.SeatProvisioning, CodeID: elig[pl.i].ID})
		memberIDs = append(memberIDs, members[k].ID)
	}
	if len(placed) == 0 {
		return nil
	}
	seatIDs, err := tx.SeatCreateMany(ctx, seats)
	if err != nil {
		return err
	}
	bound := make([]model.Code, len(placed))
	hist := make([]model.HistoryEntry, 0, 3*len(placed))
	for k, pl := range placed {
		c, it := elig[pl.i], eligible[pl.i]
		hist = append(hist, bindCode(&c, it.email, now, it.actor), useCode(&c, it.email, it.actor),
			model.HistoryEntry{Member: it.email, Pool: pl.pool.Name, Action: model.ActPlaced, To: pl.pool.Name, Reason: pl.why,
				Why: &pl.data, Actor: it.actor, CodeID: c.ID})
		bound[k] = c
	}
	if err := tx.CodeUpdateMany(ctx, bound); err != nil {
		return err
	}
	if err := tx.MembersSetState(ctx, memberIDs, model.MemberPlaced, ""); err != nil {
		return err
	}
	if err := tx.HistoryAddMany(ctx, hist...); err != nil {
		return err
	}
	p, err := s.placerFor(model.KindTeam)
	if err != nil {
		return err
	}
	for k, pl := range placed {
		if err := p.deliverLater(ctx, tx, seatIDs[k]); err != nil {
			return err
		}
		it := eligible[pl.i]
		*it.res = newSeatStatus(bound[k], pl.pool.Name)
		it.handled = true
	}
	s.bulkRedeems.Add(int64(len(placed)))
	return nil
}
