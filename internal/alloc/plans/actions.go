package plans

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
)

// The action table. Each takes the params of its direct endpoint:
//
//	pools.status      PATCH /api/v1/pools/status        {"ids": [1, 2], "status": "paused", "message": "…"}
//	pools.drain       POST /api/v1/pools/{id}/drain      {"id": 3}
//	migrate           POST /api/v1/migrations            {"from": ["a", "b"], "to": "c"}
//	integrity.repair  POST /api/v1/integrity/repair      {"limit": 100, "grace": "10m"}
//
// A new action (the rebalancer: "rebalance") registers its Planner here
// or from its own file's init, drafting move and pool.status steps.
func init() {
	Register(ActionPoolStatus, planPoolStatus)
	Register(ActionDrain, planDrain)
	Register(ActionMigrate, planMigrate)
	Register(ActionRepair, planRepair)
}

// The actions of this file.
const (
	ActionPoolStatus = "pools.status"
	ActionDrain      = "pools.drain"
	ActionMigrate    = "migrate"
	ActionRepair     = "integrity.repair"
)

// MaxStatusIDs bounds the pools of one pools.status plan, as the direct
// endpoint does.
const MaxStatusIDs = 1000

func planPoolStatus(ctx context.Context, s *Service, params json.RawMessage) (Draft, error) {
	var in struct {
		IDs     []int64 `json:"ids"`
		Status  string  `json:"status"`
		Message string  `json:"message"`
	}
	if err := decodeParams(params, &in); err != nil {
		return Draft{}, err
	}
	if len(in.IDs) == 0 || len(in.IDs) > MaxStatusIDs {
		return Draft{}, alloc.Invalidf("ids: give 1 to %d pool ids, got %d", MaxStatusIDs, len(in.IDs))
	}
	st, err := model.ParsePoolStatus(in.Status)
	if err != nil {
		return Draft{}, alloc.Invalidf("status: %v", err)
	}
	if len(in.Message) > 500 {
		return Draft{}, alloc.Invalidf("message is %d bytes; the limit is 500", len(in.Message))
	}
	var d Draft
	seen := map[int64]bool{}
	rd := s.st.Reader()
	for _, id := range in.IDs {
		if seen[id] {
			return Draft{}, alloc.Invalidf("ids: pool %d is named twice", id)
		}
		seen[id] = true
		p, err := rd.PoolGet(ctx, id)
		if err != nil {
			return Draft{}, err
		}
		d.Preconditions = append(d.Preconditions, Precondition{Kind: PrePoolStatus, PoolID: p.ID, Pool: p.Name, Status: string(p.Status)})
		if p.Status != st {
			d.Steps = append(d.Steps, Step{Op: OpPoolStatus, PoolID: p.ID, Pool: p.Name, From: string(p.Status), To: string(st), Message: in.Message})
		}
	}
	return d, nil
}

func planDrain(ctx context.Context, s *Service, params json.RawMessage) (Draft, error) {
	var in struct {
		ID int64 `json:"id"`
	}
	if err := decodeParams(params, &in); err != nil {
		return Draft{}, err
	}
	if in.ID <= 0 {
		return Draft{}, alloc.Invalidf("id: the pool to drain, a positive integer")
	}
	p, err := s.st.Reader().PoolGet(ctx, in.ID)
	if err != nil {
		return Draft{}, err
	}
	var d Draft
	d.Preconditions = append(d.Preconditions, Precondition{Kind: PrePoolStatus, PoolID: p.ID, Pool: p.Name, Status: string(p.Status)})
	// As DrainPool: an active or paused pool becomes draining, an
	// unhealthy one keeps its status.
	if !p.Status.Unhealthy() && p.Status != model.StatusDraining {
		d.Steps = append(d.Steps, Step{Op: OpPoolStatus, PoolID: p.ID, Pool: p.Name, From: string(p.Status), To: string(model.StatusDraining)})
	}
	return d, s.planMoves(ctx, &d, []string{p.Name}, "", []int64{p.ID})
}

func planMigrate(ctx context.Context, s *Service, params json.RawMessage) (Draft, error) {
	var in struct {
		From []string `json:"from"`
		To   string   `json:"to"`
	}
	if err := decodeParams(params, &in); err != nil {
		return Draft{}, err
	}
	if len(in.From) == 0 {
		return Draft{}, alloc.Invalidf("from is required: the pools to move members off")
	}
	var d Draft
	rd := s.st.Reader()
	var fromIDs []int64
	for _, name := range in.From {
		p, err := rd.PoolGetByName(ctx, name)
		if err != nil {
			return Draft{}, err
		}
		fromIDs = append(fromIDs, p.ID)
		d.Preconditions = append(d.Preconditions, Precondition{Kind: PrePoolStatus, PoolID: p.ID, Pool: p.Name, Status: string(p.Status)})
		// As Migrate: nobody new lands on the pools being emptied.
		if p.Status == model.StatusActive || p.Status == model.StatusPaused {
			d.Steps = append(d.Steps, Step{Op: OpPoolStatus, PoolID: p.ID, Pool: p.Name, From: string(p.Status), To: string(model.StatusDraining)})
		}
	}
	return d, s.planMoves(ctx, &d, in.From, in.To, fromIDs)
}

// planMoves adds the moves of the members of the pools from (to the pool
// to, or wherever placement chooses outside from), as alloc's dry run
// chooses them now, with what they rest on: each seat, and each target's
// status and room.
func (s *Service) planMoves(ctx context.Context, d *Draft, from []string, to string, fromIDs []int64) error {
	res, err := s.rt.Migrate(ctx, from, to, true, "")
	if err != nil {
		return err
	}
	if len(res.Items) == 0 {
		return nil
	}
	rd := s.st.Reader()
	first, err := rd.PoolGet(ctx, fromIDs[0])
	if err != nil {
		return err
	}
	pools, err := rd.PoolList(ctx, first.Kind)
	if err != nil {
		return err
	}
	byName := map[string]model.Pool{}
	for _, p := range pools {
		byName[p.Name] = p
	}
	// A member left queued waits outside what the direct endpoint would
	// exclude: from, or every pool but to.
	exclude := fromIDs
	if to != "" {
		exclude = nil
		for _, p := range pools {
			if p.Name != to {
				exclude = append(exclude, p.ID)
			}
		}
	}
	need := map[string]int{}
	var order []string
	for _, it := range res.Items {
		seat, err := rd.SeatGet(ctx, it.SeatID)
		if err != nil {
			return err
		}
		st := Step{Op: OpMove, PoolID: seat.PoolID, Pool: seat.Pool, Member: it.Member, MemberID: seat.MemberID, SeatID: seat.ID, Reason: it.Reason, Why: it.Why}
		d.Preconditions = append(d.Preconditions, Precondition{Kind: PreSeat, PoolID: seat.PoolID, Pool: seat.Pool, Member: it.Member, MemberID: seat.MemberID, SeatID: seat.ID})
		if it.To != "" {
			target, ok := byName[it.To]
			if !ok {
				return fmt.Errorf("planned target %q is not a %s pool", it.To, first.Kind)
			}
			st.To, st.ToID = target.Name, target.ID
			if need[target.Name] == 0 {
				order = append(order, target.Name)
			}
			need[target.Name]++
		} else {
			st.Exclude = exclude
		}
		d.Steps = append(d.Steps, st)
	}
	for _, name := range order {
		p := byName[name]
		d.Preconditions = append(d.Preconditions,
			Precondition{Kind: PrePoolStatus, PoolID: p.ID, Pool: p.Name, Status: string(p.Status)},
			Precondition{Kind: PrePoolRoom, PoolID: p.ID, Pool: p.Name, Free: need[name]})
	}
	return nil
}

func planRepair(ctx context.Context, s *Service, params json.RawMessage) (Draft, error) {
	var in struct {
		Limit int            `json:"limit"`
		Grace model.Duration `json:"grace"`
	}
	if err := decodeParams(params, &in); err != nil {
		return Draft{}, err
	}
	if in.Limit < 1 || in.Limit > integrity.MaxRepair {
		return Draft{}, alloc.Invalidf("limit must be between 1 and %d (the most seat releases), got %s", integrity.MaxRepair, strconv.Itoa(in.Limit))
	}
	if in.Grace < 0 {
		return Draft{}, alloc.Invalidf("grace must not be negative")
	}
	rep, err := integrity.Check(ctx, s.st.Reader(), integrity.Options{Grace: time.Duration(in.Grace)})
	if err != nil {
		return Draft{}, err
	}
	var d Draft
	budget := in.Limit
	statusSeen := map[int64]bool{}
	for _, o := range rep.Orphans {
		if budget == 0 {
			break
		}
		// As integrity.Repair: keep the newest live seat in an active
		// pool, else the newest (Seats are newest first).
		keep := o.Seats[0]
		for _, seat := range o.Seats {
			if seat.PoolStatus == model.StatusActive {
				keep = seat
				break
			}
		}
		ids := make([]int64, 0, len(o.Seats))
		for _, seat := range o.Seats {
			ids = append(ids, seat.SeatID)
			if !statusSeen[seat.PoolID] {
				statusSeen[seat.PoolID] = true
				d.Preconditions = append(d.Preconditions, Precondition{Kind: PrePoolStatus, PoolID: seat.PoolID, Pool: seat.Pool, Status: string(seat.PoolStatus)})
			}
		}
		d.Preconditions = append(d.Preconditions, Precondition{Kind: PreMemberSeats, Member: o.Member, MemberID: o.MemberID, Seats: ids})
		for _, seat := range o.Seats {
			if seat.SeatID == keep.SeatID || budget == 0 {
				continue
			}
			budget--
			d.Steps = append(d.Steps, Step{Op: OpRelease, Member: o.Member, MemberID: o.MemberID, SeatID: seat.SeatID, PoolID: seat.PoolID,
				Pool: seat.Pool, KeepSeatID: keep.SeatID, Reason: fmt.Sprintf("keeps seat %d on %s (%s)", keep.SeatID, keep.Pool, keep.PoolStatus)})
		}
	}
	return d, nil
}
