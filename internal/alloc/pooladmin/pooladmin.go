// Package pooladmin is the administration of pools: creating and changing
// them (name, capacity, labels, provider settings, each validated), bulk
// status changes and the health monitor's judgement (Probe). It places
// nobody: what a change means for placement (the index, the queue, the
// status transition itself) it asks of the placement runtime, package
// alloc, through the small Runtime interface. Its refusals use alloc's
// error vocabulary (alloc.Kind), so the front ends classify them in one
// place (package httpx).
package pooladmin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider/providers"
	"github.com/berthhq/berth/internal/store"
)

// Runtime is what pool administration needs of the placement runtime;
// *alloc.Service implements it.
type Runtime interface {
	// SetPoolStatus changes one pool's status if it is expect ("" = any),
	// with its history row, and drains the queue when the pool becomes
	// active; it reports whether the status changed.
	SetPoolStatus(ctx context.Context, id int64, st model.PoolStatus, message, actor string, expect model.PoolStatus) (bool, error)
	// PoolRefused marks a pool whose provider refused berth's credentials.
	PoolRefused(ctx context.Context, poolID int64, cause error) error
	// EnqueueDrain enqueues, in tx, a drain of kind's queue.
	EnqueueDrain(ctx context.Context, tx *store.Tx, kind model.Kind) error
	// PoolChanged refreshes a pool in the placement index after a
	// committed change; a pool deleted by it leaves the index and the
	// health book (its score is forgotten).
	PoolChanged(ctx context.Context, id int64)
}

// Service administers pools.
type Service struct {
	st *store.Store
	rt Runtime
}

// New returns a Service writing through st and telling rt of each change.
func New(st *store.Store, rt Runtime) *Service { return &Service{st: st, rt: rt} }

var poolName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// MaxCapacity bounds one pool's capacity.
const MaxCapacity = 1_000_000

// Input is an operator's pool definition.
type Input struct {
	Name     string            `json:"name"`
	Kind     model.Kind        `json:"kind"`
	Capacity *int              `json:"capacity"`
	Priority *int              `json:"priority"`
	Weight   *int              `json:"weight"`
	Labels   map[string]string `json:"labels"`
	Provider json.RawMessage   `json:"provider"`
}

// MaxWeight bounds a pool's weight (docs/design.md, "Placement").
const MaxWeight = 100

func checkWeight(w *int) error {
	if w != nil && (*w < 1 || *w > MaxWeight) {
		return alloc.Invalidf("weight must be between 1 and %d (the pool's share of new members: 2 takes twice its peers'), got %d", MaxWeight, *w)
	}
	return nil
}

func checkCapacity(c int) error {
	if c < 0 || c > MaxCapacity {
		return alloc.Invalidf("capacity must be between 0 and %d, got %d", MaxCapacity, c)
	}
	return nil
}

func checkLabels(l map[string]string) error {
	for k, v := range l {
		if k == "" || len(k) > 63 || len(v) > 255 {
			return alloc.Invalidf("label %q=%q: keys are 1-63 bytes, values at most 255", k, v)
		}
	}
	return nil
}

// Create validates and creates a pool, and drains its kind's queue.
func (s *Service) Create(ctx context.Context, in Input, actor string) (model.Pool, error) {
	if !poolName.MatchString(in.Name) {
		return model.Pool{}, alloc.Invalidf("name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", in.Name)
	}
	if !in.Kind.Valid() {
		return model.Pool{}, alloc.Invalidf("kind %q: use server or team", in.Kind)
	}
	if in.Capacity == nil {
		return model.Pool{}, alloc.Invalidf("capacity is required")
	}
	if err := checkCapacity(*in.Capacity); err != nil {
		return model.Pool{}, err
	}
	if err := checkLabels(in.Labels); err != nil {
		return model.Pool{}, err
	}
	if err := checkWeight(in.Weight); err != nil {
		return model.Pool{}, err
	}
	weight := 1
	if in.Weight != nil {
		weight = *in.Weight
	}
	typ, cfg, err := providers.Validate(in.Provider)
	if err != nil {
		return model.Pool{}, alloc.Invalidf("%v", err)
	}
	prio := 0
	if in.Priority != nil {
		prio = *in.Priority
	}
	var p model.Pool
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.PoolCreate(ctx, store.PoolCreateParams{Name: in.Name, Kind: in.Kind, Capacity: *in.Capacity, Priority: prio,
			Labels: in.Labels, ProviderType: typ, ProviderConfig: cfg, Actor: actor, Weight: weight})
		if err != nil {
			return err
		}
		if err := tx.HistoryAdd(ctx, model.HistoryEntry{Pool: p.Name, Action: model.ActPoolCreated, To: p.Name,
			Reason: fmt.Sprintf("%s pool, capacity %d, provider %s", p.Kind, p.Capacity, typ), Actor: actor}); err != nil {
			return err
		}
		return s.rt.EnqueueDrain(ctx, tx, p.Kind)
	})
	if err != nil {
		return p, err
	}
	s.rt.PoolChanged(ctx, p.ID)
	return p, nil
}

// Patch is an operator's change to a pool; nil fields stay.
type Patch struct {
	Capacity *int              `json:"capacity"`
	Priority *int              `json:"priority"`
	Weight   *int              `json:"weight"`
	Labels   map[string]string `json:"labels"`
	Provider json.RawMessage   `json:"provider"`
}

// Update changes a pool. Raising capacity drains the queue; capacity below
// the seats in use is refused.
func (s *Service) Update(ctx context.Context, id int64, in Patch, actor string) (model.Pool, error) {
	u := store.PoolUpdateParams{Capacity: in.Capacity, Priority: in.Priority, Weight: in.Weight, Labels: in.Labels}
	if err := checkWeight(in.Weight); err != nil {
		return model.Pool{}, err
	}
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
			return model.Pool{}, alloc.Invalidf("%v", err)
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
			Reason: fmt.Sprintf("capacity %d→%d, priority %d→%d, weight %d→%d, labels %v→%v, provider %s→%s", before.Capacity, after.Capacity,
				before.Priority, after.Priority, before.Weight, after.Weight, before.Labels, after.Labels, before.ProviderType, after.ProviderType)}); err != nil {
			return err
		}
		if after.Capacity > before.Capacity {
			return s.rt.EnqueueDrain(ctx, tx, after.Kind)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrCapacityBelowUsed) {
			return before, alloc.Invalidf("%v; move or release members first", err)
		}
		return before, err
	}
	s.rt.PoolChanged(ctx, id)
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
		return res, alloc.Invalidf("message is %d bytes; the limit is 500", len(message))
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
		_, err := s.rt.SetPoolStatus(ctx, id, st, message, actor, "")
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
