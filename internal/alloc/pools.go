package alloc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/provider/providers"
	"github.com/berthhq/berth/internal/store"
)

var poolName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// MaxCapacity bounds one pool's capacity.
const MaxCapacity = 1_000_000

// PoolInput is an operator's pool definition.
type PoolInput struct {
	Name     string            `json:"name"`
	Kind     model.Kind        `json:"kind"`
	Capacity *int              `json:"capacity"`
	Priority *int              `json:"priority"`
	Labels   map[string]string `json:"labels"`
	Provider json.RawMessage   `json:"provider"`
}

func checkCapacity(c int) error {
	if c < 0 || c > MaxCapacity {
		return invalidf("capacity must be between 0 and %d, got %d", MaxCapacity, c)
	}
	return nil
}

func checkLabels(l map[string]string) error {
	for k, v := range l {
		if k == "" || len(k) > 63 || len(v) > 255 {
			return invalidf("label %q=%q: keys are 1-63 bytes, values at most 255", k, v)
		}
	}
	return nil
}

// CreatePool validates and creates a pool.
func (s *Service) CreatePool(ctx context.Context, in PoolInput, actor string) (model.Pool, error) {
	if !poolName.MatchString(in.Name) {
		return model.Pool{}, invalidf("name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", in.Name)
	}
	if !in.Kind.Valid() {
		return model.Pool{}, invalidf("kind %q: use server or team", in.Kind)
	}
	if in.Capacity == nil {
		return model.Pool{}, invalidf("capacity is required")
	}
	if err := checkCapacity(*in.Capacity); err != nil {
		return model.Pool{}, err
	}
	if err := checkLabels(in.Labels); err != nil {
		return model.Pool{}, err
	}
	typ, cfg, err := providers.Validate(in.Provider)
	if err != nil {
		return model.Pool{}, invalidf("%v", err)
	}
	prio := 0
	if in.Priority != nil {
		prio = *in.Priority
	}
	var p model.Pool
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.PoolCreate(ctx, store.PoolCreateParams{Name: in.Name, Kind: in.Kind, Capacity: *in.Capacity, Priority: prio,
			Labels: in.Labels, ProviderType: typ, ProviderConfig: cfg, Actor: actor})
		if err != nil {
			return err
		}
		if err := tx.HistoryAdd(ctx, model.HistoryEntry{Pool: p.Name, Action: model.ActPoolCreated, To: p.Name,
			Reason: fmt.Sprintf("%s pool, capacity %d, provider %s", p.Kind, p.Capacity, typ), Actor: actor}); err != nil {
			return err
		}
		return s.jobs.DrainQueue(ctx, tx, p.Kind)
	})
	if err != nil {
		return p, err
	}
	s.poolChanged(ctx, p.ID)
	return p, nil
}

// PoolPatch is an operator's change to a pool; nil fields stay.
type PoolPatch struct {
	Capacity *int              `json:"capacity"`
	Priority *int              `json:"priority"`
	Labels   map[string]string `json:"labels"`
	Provider json.RawMessage   `json:"provider"`
}

// UpdatePool changes a pool. Raising capacity drains the queue.
func (s *Service) UpdatePool(ctx context.Context, id int64, in PoolPatch, actor string) (model.Pool, error) {
	u := store.PoolUpdateParams{Capacity: in.Capacity, Priority: in.Priority, Labels: in.Labels}
	if in.Capacity != nil {
		if err := checkCapacity(*in.Capacity); err != nil {
			return model.Pool{}, err
		}
	}
	if err := checkLabels(in.Labels); err != nil {
		return model.Pool{}, err
	}
	if len(in.Provider) > 0 {
		typ, cfg, err := providers.Validate(in.Provider)
		if err != nil {
			return model.Pool{}, invalidf("%v", err)
		}
		u.ProviderType, u.ProviderConfig = &typ, cfg
	}
	var before, after model.Pool
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if before, err = tx.PoolGet(ctx, id); err != nil {
			return err
		}
		if after, err = tx.PoolUpdate(ctx, id, u); err != nil {
			return err
		}
		if err := tx.HistoryAdd(ctx, model.HistoryEntry{Pool: after.Name, Action: model.ActPoolUpdated, Actor: actor,
			Reason: fmt.Sprintf("capacity %d→%d, priority %d→%d, labels %v→%v, provider %s→%s", before.Capacity, after.Capacity,
				before.Priority, after.Priority, before.Labels, after.Labels, before.ProviderType, after.ProviderType)}); err != nil {
			return err
		}
		if after.Capacity > before.Capacity {
			return s.jobs.DrainQueue(ctx, tx, after.Kind)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrCapacityBelowUsed) {
			return before, fmt.Errorf("%w: %v; move or release members first", ErrInvalid, err)
		}
		return before, err
	}
	s.poolChanged(ctx, id)
	return after, nil
}

// BulkFailure is one item of a bulk operation that failed.
type BulkFailure struct {
	ID    int64  `json:"id"`
	Error string `json:"error"`
}

// BulkResult answers a bulk operation per item.
type BulkResult struct {
	SuccessCount int           `json:"success_count"`
	FailedCount  int           `json:"failed_count"`
	Failed       []BulkFailure `json:"failed"`
}

// SetStatus sets the status of many pools; each id succeeds or fails on
// its own. Setting a pool active drains the queue.
func (s *Service) SetStatus(ctx context.Context, ids []int64, status, message, actor string) (BulkResult, error) {
	res := BulkResult{Failed: []BulkFailure{}}
	st, perr := model.ParsePoolStatus(status)
	if len(message) > 500 {
		return res, invalidf("message is %d bytes; the limit is 500", len(message))
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if perr != nil {
			res.Failed = append(res.Failed, BulkFailure{ID: id, Error: perr.Error()})
			continue
		}
		if seen[id] {
			res.Failed = append(res.Failed, BulkFailure{ID: id, Error: "duplicate id in request"})
			continue
		}
		seen[id] = true
		_, err := s.setStatus(ctx, id, st, message, actor, "")
		switch {
		case errors.Is(err, store.ErrNotFound):
			res.Failed = append(res.Failed, BulkFailure{ID: id, Error: "pool not found"})
		case err != nil:
			return res, err
		default:
			res.SuccessCount++
		}
	}
	res.FailedCount = len(res.Failed)
	return res, nil
}

// setStatus changes one pool's status if it is expect ("" = any).
func (s *Service) setStatus(ctx context.Context, id int64, st model.PoolStatus, message, actor string, expect model.PoolStatus) (bool, error) {
	var changed bool
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		before, ok, err := tx.PoolSetStatus(ctx, id, st, message, actor, expect)
		if err != nil || !ok {
			return err
		}
		changed = true
		action := model.ActPoolStatus
		switch {
		case actor == MonitorActor && st == model.StatusOffline:
			action = model.ActHealthOffline
		case actor == MonitorActor && st == model.StatusActive:
			action = model.ActHealthRecovered
		}
		if err := tx.HistoryAdd(ctx, model.HistoryEntry{Pool: before.Name, Action: action, From: string(before.Status), To: string(st),
			Reason: message, Actor: actor}); err != nil {
			return err
		}
		if st == model.StatusActive && before.Status != model.StatusActive {
			return s.jobs.DrainQueue(ctx, tx, before.Kind)
		}
		return nil
	})
	if err == nil && changed {
		if st.Unhealthy() {
			s.log.WarnContext(ctx, "ALERT pool unhealthy", "pool_id", id, "status", st, "actor", actor, "message", message)
		}
		s.poolChanged(ctx, id)
	}
	return changed, err
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
		if _, err := s.setStatus(ctx, id, model.StatusDraining, "drain requested by "+actor, actor, ""); err != nil {
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
