package alloc

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// What would fit (issue 14 §1; docs/design.md, "What would fit"): queued
// answers carry the single changes that would place the member now, from
// the kind's placement index (placement.Index.WouldFit), and a what-if
// places today's queue under hypothetical changes without changing
// anything (Simulate).

// QueueWouldFit answers, for each entry in order, from the indexes as they
// are now: what its member's request (labels, affinity key, the pools it
// excludes: a move's own pool, seats still being released, pools that
// refused it within FailedPoolWindow) would need. An entry that could be
// placed now (a drain is due) gets an empty list. Reads a few statements
// per 500 entries, then holds each kind's index lock briefly per
// fitLockChunk entries.
func (s *Service) QueueWouldFit(ctx context.Context, entries []model.QueueEntry) ([][]model.FitChange, error) {
	out := make([][]model.FitChange, len(entries))
	if len(entries) == 0 {
		return out, nil
	}
	q := s.st.Reader()
	in, err := q.QueueFitInputs(ctx, entries, memberRefusal, q.Now().Add(-s.FailedPoolWindow))
	if err != nil {
		return nil, err
	}
	byKind := map[model.Kind][]int{}
	for i, e := range entries {
		byKind[e.Kind] = append(byKind[e.Kind], i)
	}
	for kind, all := range byKind {
		for start := 0; start < len(all); start += fitLockChunk {
			idx := all[start:min(start+fitLockChunk, len(all))]
			if err := s.withIndexOnly(ctx, kind, func(ix *placement.Index) error {
				for _, i := range idx {
					fi := in[entries[i].MemberID]
					out[i] = ix.WouldFit(placement.Request{Kind: kind, AffinityKey: fi.AffinityKey, Labels: fi.Labels, Exclude: fi.Exclude}, 0)
					if out[i] == nil {
						out[i] = []model.FitChange{}
					}
				}
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// fitLockChunk bounds the answers QueueWouldFit computes per hold of a
// kind's index lock (a few milliseconds), so placements are not held up
// behind a long queue page.
const fitLockChunk = 500

// SimChange is one hypothetical change of a what-if: either Add pools, or
// change the pool named Pool (its Capacity and/or Status).
type SimChange struct {
	Add      *SimAdd           `json:"add,omitempty"`
	Pool     string            `json:"pool,omitempty"`
	Capacity *int              `json:"capacity,omitempty"`
	Status   *model.PoolStatus `json:"status,omitempty"`
}

// SimAdd adds Count new empty active pools of Kind, each of Capacity,
// with Labels.
type SimAdd struct {
	Kind     model.Kind        `json:"kind"`
	Count    int               `json:"count"`
	Capacity int               `json:"capacity"`
	Labels   map[string]string `json:"labels"`
}

// SimResult answers a what-if: how many of today's queue would be placed,
// per pool (added pools are named new-<kind>-<n>), and how many would
// still wait. Considered is how many queue entries were placed in order
// (at most SimQueueLimit per kind).
type SimResult struct {
	Placed      int            `json:"placed"`
	ByPool      map[string]int `json:"by_pool"`
	StillQueued int            `json:"still_queued"`
	Considered  int            `json:"considered"`
}

// SimQueueLimit bounds the queue entries of one kind a what-if places.
const SimQueueLimit = 10000

// simMaxAdd bounds the pools one what-if may add.
const simMaxAdd = 10000

// Simulate places today's queue, in queue order and through the same
// placement rules as a drain (placement.Index.Simulate), after applying
// changes to a copy of what the index knows: nothing is written and the
// index ends as it was (journal.go's Mark/Undo). Pools are named; a name
// berth does not know, or a change that says nothing, is refused
// (ErrInvalid) with the change's position.
func (s *Service) Simulate(ctx context.Context, changes []SimChange) (SimResult, error) {
	res := SimResult{ByPool: map[string]int{}}
	adds := map[model.Kind][]placement.SimAdd{}
	sets := map[model.Kind][]placement.SimSet{}
	added := 0
	q := s.st.Reader()
	for i, c := range changes {
		at := fmt.Sprintf("changes[%d]", i)
		switch {
		case c.Add != nil && c.Pool != "":
			return res, Invalidf("%s: give either add or pool, not both", at)
		case c.Add != nil:
			a := c.Add
			if !a.Kind.Valid() {
				return res, Invalidf("%s.add.kind must be server or team, not %q", at, a.Kind)
			}
			if a.Count < 1 || a.Capacity < 1 {
				return res, Invalidf("%s.add: count and capacity must be at least 1 (got count %d, capacity %d)", at, a.Count, a.Capacity)
			}
			if added += a.Count; added > simMaxAdd {
				return res, Invalidf("%s.add: at most %d pools may be added in one what-if", at, simMaxAdd)
			}
			adds[a.Kind] = append(adds[a.Kind], placement.SimAdd{Count: a.Count, Capacity: a.Capacity, Labels: a.Labels})
		case c.Pool != "":
			if c.Capacity == nil && c.Status == nil {
				return res, Invalidf("%s: pool %q: give its capacity or status", at, c.Pool)
			}
			if c.Capacity != nil && *c.Capacity < 0 {
				return res, Invalidf("%s: pool %q: capacity must not be negative", at, c.Pool)
			}
			if c.Status != nil && !c.Status.Valid() {
				return res, Invalidf("%s: pool %q: unknown status %q", at, c.Pool, *c.Status)
			}
			p, err := q.PoolGetByName(ctx, c.Pool)
			if errors.Is(err, store.ErrNotFound) {
				return res, Invalidf("%s: no pool is named %q", at, c.Pool)
			}
			if err != nil {
				return res, err
			}
			sets[p.Kind] = append(sets[p.Kind], placement.SimSet{ID: p.ID, Capacity: c.Capacity, Status: c.Status})
		default:
			return res, Invalidf("%s: give add (new pools) or pool (a pool to change)", at)
		}
	}
	for _, kind := range model.Kinds() {
		entries, err := q.QueueList(ctx, kind, SimQueueLimit)
		if err != nil {
			return res, err
		}
		if len(entries) == 0 {
			continue
		}
		in, err := q.QueueFitInputs(ctx, entries, memberRefusal, q.Now().Add(-s.FailedPoolWindow))
		if err != nil {
			return res, err
		}
		reqs := make([]placement.Request, len(entries))
		for i, e := range entries {
			fi := in[e.MemberID]
			reqs[i] = placement.Request{Kind: kind, AffinityKey: fi.AffinityKey, Labels: fi.Labels, Exclude: fi.Exclude}
			// The stored strategy of the member's kind and group, as a drain
			// places it (strategy.go).
			if reqs[i].Strategy, err = s.storedStrategy(ctx, q, kind, fi.Labels); err != nil {
				return res, err
			}
		}
		err = s.withIndexOnly(ctx, kind, func(ix *placement.Index) error {
			r := ix.Simulate(kind, adds[kind], sets[kind], reqs)
			res.Placed += r.Placed
			res.StillQueued += r.StillQueued
			for name, n := range r.ByPool {
				res.ByPool[name] += n
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Considered += len(entries)
	}
	return res, nil
}
