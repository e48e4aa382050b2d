package placement

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/model"
)

// What would fit (issue 14 §1): for a request no pool can take, the
// smallest single changes that would place it now, cheapest first
// (docs/design.md, "What would fit"):
//
//  1. capacity: a full active pool that passes every other filter, its
//     capacity raised to used+1;
//  2. status: a pool with room that passes every other filter but is not
//     active, set active — paused first, then draining, offline,
//     credential_invalid, banned, then unknown statuses;
//  3. exclusion: a pool the request excluded that would take it;
//  4. add_pool: a new pool of the kind with the request's labels (offered
//     whenever fewer than k changes were found, so the list is never
//     empty).
//
// Each class lists pools in the orders' tie order (healthy first, then
// priority, name, id). The index keeps the pools that are not eligible in
// ordered sets of their own, per class and per label (held), so the
// answer walks the smallest set that can match instead of every pool.

// WouldFitK is how many changes WouldFit returns by default.
const WouldFitK = 3

// fitClass is a cost class of held-out pools: classCapacity for full
// active pools, then one per status (statusRank).
type fitClass int

const classCapacity fitClass = 0

// statusRank orders the statuses a pool with room can be set active from.
var statusRank = map[model.PoolStatus]fitClass{
	model.StatusPaused:            1,
	model.StatusDraining:          2,
	model.StatusOffline:           3,
	model.StatusCredentialInvalid: 4,
	model.StatusBanned:            5,
}

// classOther holds pools of an unknown status.
const classOther fitClass = 6

// heldSet is one class's pools: all of them, and per label those carrying
// it.
type heldSet struct {
	all     *tree
	byLabel map[label]*tree
}

// held is a kind's pools that are not eligible but one change away.
type held struct {
	classes map[fitClass]*heldSet
}

// cmpHeld orders a class: healthy first, then priority, name and id.
func cmpHeld(a, b *entry) int {
	if c := cmpTier(a, b); c != 0 {
		return c
	}
	return cmpTie(a, b)
}

// heldClass is the class of an entry attach did not make eligible, and
// false when no single change would make it eligible (a pool marked full,
// or not active and without room).
func heldClass(e *entry) (fitClass, bool) {
	if e.marked {
		return 0, false
	}
	if e.pool.Status.TakesMembers() {
		return classCapacity, true
	}
	if e.pool.Free() <= 0 {
		return 0, false
	}
	if c, ok := statusRank[e.pool.Status]; ok {
		return c, true
	}
	return classOther, true
}

// hold puts a pool that attach did not make eligible into its class's
// sets. Called by attach; O(L log n) for L labels.
func (ks *kindState) hold(e *entry) {
	c, ok := heldClass(e)
	if !ok {
		return
	}
	if ks.held.classes == nil {
		ks.held.classes = map[fitClass]*heldSet{}
	}
	s := ks.held.classes[c]
	if s == nil {
		s = &heldSet{all: newTree(cmpHeld), byLabel: map[label]*tree{}}
		ks.held.classes[c] = s
	}
	s.all.insert(e)
	for k, v := range e.pool.Labels {
		t := s.byLabel[label{k, v}]
		if t == nil {
			t = newTree(cmpHeld)
			s.byLabel[label{k, v}] = t
		}
		t.insert(e)
	}
}

// unhold undoes hold. Called by detach, before the entry changes.
func (ks *kindState) unhold(e *entry) {
	c, ok := heldClass(e)
	if !ok {
		return
	}
	s := ks.held.classes[c]
	if s == nil {
		return
	}
	s.all.delete(e)
	for k, v := range e.pool.Labels {
		if t := s.byLabel[label{k, v}]; t != nil {
			t.delete(e)
			if t.len() == 0 {
				delete(s.byLabel, label{k, v})
			}
		}
	}
}

// WouldFit returns at most k (WouldFitK when k < 1) single changes that
// would let Place choose a pool for req, cheapest first; nil when Place
// would place it now. It changes nothing.
//
// The cost is O(x + c·(log n + w)) for x excluded pools, c classes and w
// pools walked per class: the walk starts from the class's smallest set
// carrying one of the request's labels and stops after k matches.
func (ix *Index) WouldFit(req Request, k int) []model.FitChange {
	if k < 1 {
		k = WouldFitK
	}
	ks := ix.kinds[req.Kind]
	if ks == nil {
		return []model.FitChange{addPool(req)}
	}
	part := ix.partition(req.Kind, ks, req.Labels)
	excl := ix.exclusions(req.Exclude, part)
	if part.free.len()-excl.n() > 0 {
		return nil
	}
	var out []model.FitChange
	cons := constraints(req.Labels)
	excluded := func(e *entry) bool {
		return slices.Contains(req.Exclude, e.pool.ID)
	}
	for c := classCapacity; c <= classOther && len(out) < k; c++ {
		s := ks.held.classes[c]
		if s == nil {
			continue
		}
		t := s.all
		for _, l := range cons {
			lt := s.byLabel[l]
			if lt == nil {
				t = nil
				break
			}
			if lt.len() < t.len() {
				t = lt
			}
		}
		if t == nil {
			continue
		}
		t.ascend(func(e *entry) bool {
			if !part.matches(e.pool.Labels) || excluded(e) {
				return true
			}
			out = append(out, heldChange(c, e))
			return len(out) < k
		})
	}
	// Excluded pools that would take the request: every one is in part.
	for _, e := range excl.list {
		if len(out) == k {
			break
		}
		out = append(out, model.FitChange{Pool: e.pool.Name, PoolID: e.pool.ID, Field: model.FitExclusion,
			From: "excluded", To: "allowed", Change: "lift the exclusion"})
	}
	if len(out) < k {
		out = append(out, addPool(req))
	}
	return out
}

// heldChange is the change that makes a held-out pool of class c eligible.
func heldChange(c fitClass, e *entry) model.FitChange {
	p := e.pool
	if c == classCapacity {
		from, to := strconv.Itoa(p.Capacity), strconv.Itoa(max(p.Used, p.Capacity)+1)
		return model.FitChange{Pool: p.Name, PoolID: p.ID, Field: model.FitCapacity, From: from, To: to,
			Change: "capacity " + from + " → " + to}
	}
	return model.FitChange{Pool: p.Name, PoolID: p.ID, Field: model.FitStatus, From: string(p.Status),
		To: string(model.StatusActive), Change: "status " + string(p.Status) + " → " + string(model.StatusActive)}
}

// addPool is the change that adds a pool of the request's kind and labels.
func addPool(req Request) model.FitChange {
	ch := model.FitChange{Field: model.FitAddPool, Kind: req.Kind, Labels: maps.Clone(req.Labels)}
	if len(req.Labels) == 0 {
		ch.Change = fmt.Sprintf("add a %s pool", req.Kind)
		return ch
	}
	parts := make([]string, 0, len(req.Labels))
	for _, l := range constraints(req.Labels) {
		parts = append(parts, l.key+"="+l.value)
	}
	ch.Change = fmt.Sprintf("add a %s pool with labels {%s}", req.Kind, strings.Join(parts, ", "))
	return ch
}
