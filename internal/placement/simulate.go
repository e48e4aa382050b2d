package placement

import (
	"fmt"
	"maps"

	"github.com/berthhq/berth/internal/model"
)

// SimAdd adds Count hypothetical pools of the index's kind, each with
// Capacity and Labels, empty and active.
type SimAdd struct {
	Count    int
	Capacity int
	Labels   map[string]string
}

// SimSet changes a known pool: its capacity and/or its status (nil: as
// it is).
type SimSet struct {
	ID       int64
	Capacity *int
	Status   *model.PoolStatus
}

// SimResult is what a simulation placed.
type SimResult struct {
	// Placed is how many requests found a pool; ByPool counts them per
	// pool name (added pools are named "new-<kind>-<n>").
	Placed int
	ByPool map[string]int
	// StillQueued is how many did not.
	StillQueued int
}

// Simulate applies the changes to the index, places reqs in order through
// Place (committing each placement, as a queue drain does), and takes it
// all back: the index ends exactly as it was (journal.go). Added pools get
// ids below zero, which no database row has. Unknown ids in sets are
// ignored (the caller resolves names first).
func (ix *Index) Simulate(kind model.Kind, adds []SimAdd, sets []SimSet, reqs []Request) SimResult {
	recording := ix.recording
	mark := ix.Mark()
	defer func() {
		ix.Undo(mark)
		if !recording {
			ix.Forget()
		}
	}()
	for _, s := range sets {
		e := ix.pools[s.ID]
		if e == nil {
			continue
		}
		p := e.pool
		if s.Capacity != nil {
			p.Capacity = max(*s.Capacity, 0)
		}
		if s.Status != nil {
			p.Status = *s.Status
		}
		ix.Upsert(p)
	}
	next, n := int64(-1), 0
	for _, a := range adds {
		for range a.Count {
			for ix.pools[next] != nil {
				next--
			}
			n++
			ix.Upsert(Pool{ID: next, Name: fmt.Sprintf("new-%s-%d", kind, n), Kind: kind, Capacity: max(a.Capacity, 0),
				Status: model.StatusActive, Labels: maps.Clone(a.Labels)})
		}
	}
	res := SimResult{ByPool: map[string]int{}}
	for _, r := range reqs {
		d := ix.Place(r)
		if d.Pool == nil {
			res.StillQueued++
			continue
		}
		ix.Commit(d.Pool.ID, r.AffinityKey)
		res.Placed++
		res.ByPool[d.Pool.Name]++
	}
	return res
}
