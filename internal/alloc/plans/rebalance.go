package plans

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// The rebalancer with a budget (issue 14 §3, docs/design.md,
// "Rebalancing"): the plan action rebalance drafts, with
// placement.Rebalance, the moves that bring a kind's pools (of one group,
// or those without a group) closest to the strategy's ideal within
// max_moves, as OpPacedMove steps. Applying the plan schedules them;
// RunPaced, the rebalance_step job, runs at most
// BERTH_REBALANCE_MOVES_PER_MINUTE of them a minute, each after checking
// again that the member is still on its pool and both pools are active.
// The moves are make before break and free: an operator's move never
// charges a code's rebinds (alloc.MoveSeatWithin).

// ActionRebalance is the rebalancer's plan action.
const ActionRebalance = "rebalance"

// DefaultSkipMovedWithin: a member who moved this recently stays where it
// is (the param skip_moved_within changes it).
const DefaultSkipMovedWithin = 24 * time.Hour

// RebalanceParams are the params of a rebalance plan.
type RebalanceParams struct {
	Kind model.Kind `json:"kind"`
	// Group: the pools of this group (label group); empty: the pools
	// without a group.
	Group    string `json:"group,omitempty"`
	MaxMoves int    `json:"max_moves"`
	// Strategy is pack or spread; empty: the stored strategy of the kind
	// and group (pack when none is stored).
	Strategy string `json:"strategy,omitempty"`
	// SkipMovedWithin: members who moved more recently stay (default
	// 24h; "0s" moves anyone).
	SkipMovedWithin *model.Duration `json:"skip_moved_within,omitempty"`
}

// RebalanceSummary is a rebalance plan's Summary.
type RebalanceSummary struct {
	Kind     model.Kind `json:"kind"`
	Group    string     `json:"group,omitempty"`
	Strategy string     `json:"strategy"`
	MaxMoves int        `json:"max_moves"`
	Moves    int        `json:"moves"`
	// Pinned members were not moved: they moved within SkipMovedWithin,
	// or a move of theirs is under way.
	Pinned          int                 `json:"pinned"`
	SkipMovedWithin model.Duration      `json:"skip_moved_within"`
	Before          placement.Imbalance `json:"before"`
	After           placement.Imbalance `json:"after"`
}

func init() { Register(ActionRebalance, planRebalance) }

var pacedMu sync.Mutex

func planRebalance(ctx context.Context, s *Service, params json.RawMessage) (Draft, error) {
	var in RebalanceParams
	if err := decodeParams(params, &in); err != nil {
		return Draft{}, err
	}
	if !in.Kind.Valid() {
		return Draft{}, alloc.Invalidf("kind must be server or team, got %q", in.Kind)
	}
	if in.MaxMoves < 1 || in.MaxMoves > MaxSteps {
		return Draft{}, alloc.Invalidf("max_moves must be between 1 and %d, got %d", MaxSteps, in.MaxMoves)
	}
	skip := DefaultSkipMovedWithin
	if in.SkipMovedWithin != nil {
		if *in.SkipMovedWithin < 0 {
			return Draft{}, alloc.Invalidf("skip_moved_within must not be negative")
		}
		skip = time.Duration(*in.SkipMovedWithin)
	}
	rd := s.st.Reader()
	strategy := placement.Strategy(in.Strategy)
	if in.Strategy == "" {
		list, err := rd.PlacementSettings(ctx)
		if err != nil {
			return Draft{}, err
		}
		// The group's setting, else the kind's, else pack (as placement).
		var kindSt, groupSt placement.Strategy
		for _, set := range list {
			switch {
			case set.Kind != in.Kind:
			case set.Group == "":
				kindSt = placement.Strategy(set.Strategy)
			case set.Group == in.Group:
				groupSt = placement.Strategy(set.Strategy)
			}
		}
		strategy = placement.StrategyPack
		if groupSt != "" {
			strategy = groupSt
		} else if kindSt != "" {
			strategy = kindSt
		}
	} else if _, err := placement.ParseStrategy(in.Strategy); err != nil {
		return Draft{}, alloc.Invalidf("strategy: %v", err)
	}
	all, err := rd.PoolList(ctx, in.Kind)
	if err != nil {
		return Draft{}, err
	}
	var pools []placement.Pool
	byID := map[int64]model.Pool{}
	for _, p := range all {
		g, grouped := p.Labels[placement.GroupLabel]
		if (in.Group == "" && grouped) || (in.Group != "" && g != in.Group) {
			continue
		}
		pools = append(pools, placement.FromModel(p))
		byID[p.ID] = p
	}
	if len(pools) == 0 {
		what := "without a group"
		if in.Group != "" {
			what = "of group " + in.Group
		}
		return Draft{}, alloc.Invalidf("no %s pool %s to rebalance", in.Kind, what)
	}
	seats, err := rd.RebalanceSeats(ctx, in.Kind)
	if err != nil {
		return Draft{}, err
	}
	now := s.st.Now()
	members := make([]placement.RebalanceMember, 0, len(seats))
	memberOf := map[int64]int64{}
	for _, rs := range seats {
		if _, ok := byID[rs.PoolID]; !ok {
			continue
		}
		memberOf[rs.SeatID] = rs.MemberID
		members = append(members, placement.RebalanceMember{Seat: rs.SeatID, Name: rs.Member, Pool: rs.PoolID, AffinityKey: rs.AffinityKey,
			Labels: rs.Labels, Pinned: rs.Moving || (!rs.MovedAt.IsZero() && now.Sub(rs.MovedAt) < skip)})
	}
	plan := placement.Rebalance(placement.RebalanceInput{Strategy: strategy, MaxMoves: in.MaxMoves, Pools: pools, Members: members})
	d := Draft{Summary: RebalanceSummary{Kind: in.Kind, Group: in.Group, Strategy: string(plan.Strategy), MaxMoves: in.MaxMoves,
		Moves: len(plan.Moves), Pinned: plan.Pinned, SkipMovedWithin: model.Duration(skip), Before: plan.Before, After: plan.After}}
	involved := map[int64]bool{}
	for _, mv := range plan.Moves {
		involved[mv.From], involved[mv.To] = true, true
		d.Steps = append(d.Steps, Step{Op: OpPacedMove, PoolID: mv.From, Pool: mv.FromName, Member: mv.Member, MemberID: memberOf[mv.Seat],
			SeatID: mv.Seat, To: mv.ToName, ToID: mv.To, Reason: mv.Reason})
		d.Preconditions = append(d.Preconditions, Precondition{Kind: PreSeat, PoolID: mv.From, Pool: mv.FromName, Member: mv.Member,
			MemberID: memberOf[mv.Seat], SeatID: mv.Seat})
	}
	ids := make([]int64, 0, len(involved))
	for id := range involved {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		p := byID[id]
		d.Preconditions = append(d.Preconditions, Precondition{Kind: PrePoolStatus, PoolID: p.ID, Pool: p.Name, Status: string(p.Status)})
	}
	return d, nil
}

// RunPaced runs at most limit scheduled paced moves (OpPacedMove) of the
// applied plans, oldest plan first, step order within a plan, and records
// each outcome in its plan's result. A move whose member left its pool, or
// whose pools are no longer active, fails alone with the reason; a target
// without room now fails too (nothing is queued). It returns how many
// moves it started or failed.
func (s *Service) RunPaced(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	// One runner at a time in this process (the job is unique across
	// replicas): a step read as scheduled by two runners would run twice.
	pacedMu.Lock()
	defer pacedMu.Unlock()
	ids, err := s.st.Reader().PlansPending(ctx, 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if n >= limit {
			break
		}
		p, err := s.Get(ctx, id)
		if err != nil {
			return n, err
		}
		if p.Result == nil {
			continue // the apply has not recorded its result yet
		}
		res := *p.Result
		res.Steps = append([]StepResult(nil), p.Result.Steps...)
		for i := range res.Steps {
			if n >= limit {
				break
			}
			sr := &res.Steps[i]
			if sr.Status != StepScheduled || sr.Step < 0 || sr.Step >= len(p.Steps) {
				continue
			}
			n++
			st := p.Steps[sr.Step]
			status, pool, detail, err := s.runPaced(ctx, p, st)
			if err != nil {
				return n, err
			}
			sr.Status, sr.Pool, sr.Detail = status, pool, detail
		}
		res.Done, res.Queued, res.Failed, res.Scheduled, res.Cancelled = 0, 0, 0, 0, 0
		steps := res.Steps
		res.Steps = nil
		for _, sr := range steps {
			res.add(sr)
		}
		b, err := json.Marshal(res)
		if err != nil {
			return n, err
		}
		if err := s.st.PlanSetProgressIfPending(context.WithoutCancel(ctx), id, b, res.Scheduled); err != nil {
			return n, err
		}
	}
	return n, nil
}

// StepCancelled: a paced move not made because the plan was stopped
// (CancelPaced).
const StepCancelled = "cancelled"

// CancelPaced stops an applied plan's paced moves: the scheduled ones
// become cancelled (the moves already started go on). It refuses with
// alloc.ErrChanged when none is scheduled (the plan is not applied, or
// every move has run).
func (s *Service) CancelPaced(ctx context.Context, id int64, actor string) (Plan, error) {
	pacedMu.Lock() // not in the middle of a turn of this process's runner
	defer pacedMu.Unlock()
	p, err := s.Get(ctx, id)
	if err != nil {
		return p, err
	}
	if p.Result == nil || p.Result.Scheduled == 0 {
		return p, fmt.Errorf("plan %d has no scheduled moves to stop: %w", id, alloc.ErrChanged)
	}
	res := *p.Result
	steps := append([]StepResult(nil), p.Result.Steps...)
	res.Done, res.Queued, res.Failed, res.Scheduled, res.Cancelled, res.Steps = 0, 0, 0, 0, 0, nil
	for _, sr := range steps {
		if sr.Status == StepScheduled {
			sr.Status, sr.Detail = StepCancelled, "stopped by "+actor
		}
		res.add(sr)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return p, err
	}
	if err := s.st.PlanSetProgress(ctx, id, b, 0); err != nil {
		return p, err
	}
	p.Result = &res
	return p, nil
}

// runPaced checks one paced move again and starts it.
func (s *Service) runPaced(ctx context.Context, p Plan, st Step) (status, pool, detail string, err error) {
	rd := s.st.Reader()
	seat, err := rd.SeatGet(ctx, st.SeatID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return StepFailed, "", fmt.Sprintf("%s: seat %d is gone", st.Member, st.SeatID), nil
	case err != nil:
		return "", "", "", err
	case !seat.State.Live():
		return StepFailed, "", fmt.Sprintf("%s already left %s (seat %d is %s)", st.Member, st.Pool, st.SeatID, seat.State), nil
	case seat.PoolID != st.PoolID:
		return StepFailed, "", fmt.Sprintf("%s is on %s, was on %s", st.Member, seat.Pool, st.Pool), nil
	}
	var ends [2]model.Pool // from, to
	for i, id := range []int64{st.PoolID, st.ToID} {
		pl, err := rd.PoolGet(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return StepFailed, "", fmt.Sprintf("pool %d was deleted", id), nil
		}
		if err != nil {
			return "", "", "", err
		}
		if pl.Status != model.StatusActive {
			return StepFailed, "", fmt.Sprintf("pool %s is %s; a rebalance moves only between active pools", pl.Name, pl.Status), nil
		}
		ends[i] = pl
	}
	// The fleet may have changed since the plan: a move that no longer
	// serves the strategy is not made.
	if why := stale(p, ends[0], ends[1]); why != "" {
		return StepFailed, "", why, nil
	}
	m, err := rd.MemberGet(ctx, seat.MemberID)
	if err != nil {
		return "", "", "", err
	}
	pools, err := rd.PoolList(ctx, m.Kind)
	if err != nil {
		return "", "", "", err
	}
	var exclude []int64
	for _, pl := range pools {
		if pl.ID != st.ToID {
			exclude = append(exclude, pl.ID)
		}
	}
	actor := p.AppliedBy
	if actor == "" {
		actor = p.Actor
	}
	reason := fmt.Sprintf("rebalance (plan %d by %s): %s", p.ID, actor, st.Reason)
	o, err := s.rt.MoveSeatWithin(ctx, st.SeatID, exclude, true, reason, actor)
	switch {
	case err != nil && !alloc.Refused(err):
		return "", "", "", err
	case err != nil:
		return StepFailed, "", err.Error(), nil
	case o.Status == alloc.OutcomePlaced:
		return StepDone, o.Pool, "", nil
	default:
		return StepQueued, "", o.Reason, nil
	}
}

// stale says why moving one member from from to to no longer serves the
// plan's strategy ("" when it still does): spread, when the move would
// no longer narrow the gap between the two pools' loads (the planner's
// rule); pack, when the target is empty now (filling it uses one more
// pool).
func stale(p Plan, from, to model.Pool) string {
	var sum RebalanceSummary
	if json.Unmarshal(p.Summary, &sum) != nil {
		return ""
	}
	switch placement.Strategy(sum.Strategy) {
	case placement.StrategySpread:
		if !placement.RebalanceNarrows(from.Used, from.Capacity, from.Weight, to.Used, to.Capacity, to.Weight) {
			return fmt.Sprintf("no longer evens the load: %s is at %d/%d, %s at %d/%d", from.Name, from.Used, from.Capacity, to.Name, to.Used, to.Capacity)
		}
	case placement.StrategyPack:
		if to.Used == 0 {
			return fmt.Sprintf("%s is empty now; filling it would use one more pool", to.Name)
		}
	}
	return ""
}
