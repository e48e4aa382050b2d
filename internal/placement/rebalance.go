package placement

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/berthhq/berth/internal/model"
)

// The rebalancer (docs/design.md, "Rebalancing") plans moves of seated
// members that bring a fleet of pools closer to a strategy's ideal, within
// a budget of moves. Like Place it is pure: no I/O, no clock, no
// randomness; the same input gives the same moves in the same order.
//
//   - spread: the ideal is every pool equally loaded (load = used /
//     (capacity × weight), the spread strategy's order). Each move takes
//     one member off the most loaded pool that has a movable member to the
//     least loaded pool that accepts it, while the move narrows the gap
//     between the two: 2 × (a − b) > 1/(cap_a × w_a) + 1/(cap_b × w_b).
//     Each such move lowers Σ used²/(capacity × weight), so the plan never
//     undoes itself.
//   - pack: the ideal is as few pools in use as possible. The least filled
//     pools are emptied, one whole pool at a time (a pool half emptied
//     saves nothing), into the pools that hold the member's affinity key,
//     else into the fullest pool in use with room (best fit), never into
//     an empty pool; the members of one
//     affinity key on a pool move together where one pool has room for
//     them all. A pool that cannot be emptied whole within the budget, or
//     holds a member who may not move, is kept; a pool that received
//     members is never emptied afterwards.
//
// Only active pools take part; a member goes only where [Accepts] lets it
// (its label constraints, group isolation). A pool whose Used counts more
// seats than its listed members (seats being provisioned or released) keeps
// the extra seats where they are.

// RebalanceMember is a seated member the rebalancer may move.
type RebalanceMember struct {
	// Seat identifies what moves (the member's live seat).
	Seat int64
	// Name is the member's name, for the move's reason.
	Name string
	// Pool is the id of the pool the seat is on.
	Pool int64
	// AffinityKey and Labels are the member's, as in a [Request].
	AffinityKey string
	Labels      map[string]string
	// Pinned members stay where they are (moved recently, a move already
	// under way); they still count in their pool's load.
	Pinned bool
}

// RebalanceInput is what the rebalancer plans from.
type RebalanceInput struct {
	Strategy Strategy
	// MaxMoves bounds the plan; 0 plans nothing (only the metrics).
	MaxMoves int
	Pools    []Pool
	Members  []RebalanceMember
}

// RebalanceMove is one planned move, make before break.
type RebalanceMove struct {
	Seat     int64  `json:"seat_id"`
	Member   string `json:"member"`
	From     int64  `json:"from_id"`
	FromName string `json:"from"`
	To       int64  `json:"to_id"`
	ToName   string `json:"to"`
	Reason   string `json:"reason"`
}

// Imbalance measures how far a fleet is from each strategy's ideal, over
// its active pools with capacity.
type Imbalance struct {
	// Pools is how many pools were measured.
	Pools int `json:"pools"`
	// Members is how many seats they hold (their Used).
	Members int `json:"members"`
	// InUse pools hold at least one seat; Partial ones hold some but have
	// room; Empty ones hold none. Pack wants InUse and Partial low.
	InUse   int `json:"in_use"`
	Partial int `json:"partial"`
	Empty   int `json:"empty"`
	// UtilizationMean, UtilizationStddev and UtilizationRange (max − min)
	// are of each pool's load, used / (capacity × weight), which is its
	// utilization when its weight is 1. Spread wants the stddev and the
	// range low.
	UtilizationMean   float64 `json:"utilization_mean"`
	UtilizationStddev float64 `json:"utilization_stddev"`
	UtilizationRange  float64 `json:"utilization_range"`
}

// RebalancePlan is the rebalancer's answer.
type RebalancePlan struct {
	Strategy Strategy        `json:"strategy"`
	Moves    []RebalanceMove `json:"moves"`
	// Before is the fleet as given; After is the fleet once every move
	// is done.
	Before Imbalance `json:"before"`
	After  Imbalance `json:"after"`
	// Pinned is how many members on the measured pools were not movable.
	Pinned int `json:"pinned"`
}

// rbPool is one active pool being rebalanced.
type rbPool struct {
	p    Pool
	used int
	unit float64 // the load of one seat: 1 / (capacity × weight)
	// movable members by label class: class id → seat indices (into
	// rb.members), in seat order.
	byClass map[int][]int
	classes []int // the class ids present, ascending
	movable int
	pinned  bool // holds a pinned member (pack cannot empty it)
	listed  int  // members listed on it
	keys    map[string]int
	pos     int // index in the current order
	idx     int // index in rebalancer.pools
}

func (p *rbPool) load() float64 { return float64(p.used) * p.unit }

// den is the pool's capacity × weight: its load is used / den.
func (p *rbPool) den() int64 { return int64(p.p.Capacity) * p.p.weight() }

// rbCmpLoad compares two pools' loads exactly (used / den, cross-multiplied).
func rbCmpLoad(a, b *rbPool) int {
	x, y := int64(a.used)*b.den(), int64(b.used)*a.den()
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// RebalanceNarrows reports whether moving one seat from a pool with
// fromUsed seats, capacity fromCap and weight fromW to a pool with toUsed,
// toCap and toW narrows the gap between their loads (used / (capacity ×
// weight)): 2 × (a − b) > 1/(fromCap × fromW) + 1/(toCap × toW), decided
// in integers so that a pair at the boundary never moves back and forth.
// The spread rebalancer moves only when it does.
func RebalanceNarrows(fromUsed, fromCap, fromW, toUsed, toCap, toW int) bool {
	ds, dd := int64(max(fromCap, 1))*int64(max(fromW, 1)), int64(max(toCap, 1))*int64(max(toW, 1))
	return 2*(int64(fromUsed)*dd-int64(toUsed)*ds) > ds+dd
}

// narrows is RebalanceNarrows for s → d.
func narrows(s, d *rbPool) bool {
	return RebalanceNarrows(s.used, s.p.Capacity, s.p.Weight, d.used, d.p.Capacity, d.p.Weight)
}
func (p *rbPool) free() int { return max(p.p.Capacity-p.used, 0) }

type rbClass struct {
	labels  map[string]string
	accepts []int8 // per pool: 0 unknown, 1 yes, -1 no
}

type rebalancer struct {
	pools []*rbPool
	// holders: per affinity key, the pools (indexes) holding it.
	holders map[string]map[int]struct{}
	members []RebalanceMember
	classes []rbClass
	moves   []RebalanceMove
	max     int
}

// Rebalance plans the moves that bring in's fleet closest to its
// strategy's ideal within in.MaxMoves (see the comment at the top of this
// file), and measures the fleet before and after.
func Rebalance(in RebalanceInput) RebalancePlan {
	rb := &rebalancer{max: max(in.MaxMoves, 0), holders: map[string]map[int]struct{}{}}
	index := map[int64]int{}
	for _, p := range in.Pools {
		if p.Status != model.StatusActive || p.Capacity <= 0 {
			continue
		}
		if _, dup := index[p.ID]; dup {
			continue
		}
		p = p.normalized()
		index[p.ID] = len(rb.pools)
		rb.pools = append(rb.pools, &rbPool{p: p, used: p.Used, unit: 1 / (float64(p.Capacity) * float64(p.weight())),
			byClass: map[int][]int{}, keys: map[string]int{}, idx: len(rb.pools)})
	}
	// Members in seat order, so every tie is broken the same way.
	rb.members = slices.Clone(in.Members)
	sort.SliceStable(rb.members, func(i, j int) bool { return rb.members[i].Seat < rb.members[j].Seat })
	classOf := map[string]int{}
	pinned := 0
	for i, m := range rb.members {
		pi, ok := index[m.Pool]
		if !ok {
			continue
		}
		p := rb.pools[pi]
		p.listed++
		if m.AffinityKey != "" {
			rb.addKey(pi, m.AffinityKey)
		}
		if m.Pinned {
			p.pinned = true
			pinned++
			continue
		}
		sig := constraintKey(constraints(m.Labels)) // the label class, as the index keys partitions
		c, ok := classOf[sig]
		if !ok {
			c = len(rb.classes)
			classOf[sig] = c
			rb.classes = append(rb.classes, rbClass{labels: m.Labels, accepts: make([]int8, len(rb.pools))})
		}
		if len(p.byClass[c]) == 0 {
			p.classes = append(p.classes, c)
		}
		p.byClass[c] = append(p.byClass[c], i)
		p.movable++
	}
	for _, p := range rb.pools {
		sort.Ints(p.classes)
		// The listed members cannot outnumber the seats the pool counts.
		p.used = max(p.used, p.listed)
	}
	plan := RebalancePlan{Strategy: in.Strategy.effective(), Before: rb.measure(), Pinned: pinned}
	if plan.Strategy == StrategySpread {
		rb.spread()
	} else {
		rb.pack()
	}
	plan.Moves = rb.moves
	if plan.Moves == nil {
		plan.Moves = []RebalanceMove{}
	}
	plan.After = rb.measure()
	return plan
}

// accepts reports whether pool pi takes members of class c.
func (rb *rebalancer) accepts(c, pi int) bool {
	cl := &rb.classes[c]
	if cl.accepts[pi] == 0 {
		cl.accepts[pi] = -1
		if Accepts(rb.pools[pi].p.Labels, cl.labels) {
			cl.accepts[pi] = 1
		}
	}
	return cl.accepts[pi] == 1
}

func (rb *rebalancer) measure() Imbalance {
	var im Imbalance
	var sum, sq float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range rb.pools {
		im.Pools++
		im.Members += p.used
		switch {
		case p.used == 0:
			im.Empty++
		case p.used < p.p.Capacity:
			im.InUse++
			im.Partial++
		default:
			im.InUse++
		}
		l := p.load()
		sum += l
		sq += l * l
		lo, hi = min(lo, l), max(hi, l)
	}
	if im.Pools == 0 {
		return im
	}
	n := float64(im.Pools)
	im.UtilizationMean = round4(sum / n)
	im.UtilizationStddev = round4(math.Sqrt(max(sq/n-(sum/n)*(sum/n), 0)))
	im.UtilizationRange = round4(hi - lo)
	return im
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// take removes and returns a movable member of class c from pool p (the
// newest seat first).
func (p *rbPool) take(c int) int {
	list := p.byClass[c]
	mi := list[len(list)-1]
	list = list[:len(list)-1]
	p.byClass[c] = list
	if len(list) == 0 {
		p.classes = slices.DeleteFunc(p.classes, func(x int) bool { return x == c })
	}
	p.movable--
	return mi
}

// move records member mi's move from pool s to pool d and updates both.
func (rb *rebalancer) move(mi int, s, d *rbPool, reason string) {
	m := rb.members[mi]
	rb.moves = append(rb.moves, RebalanceMove{Seat: m.Seat, Member: m.Name, From: s.p.ID, FromName: s.p.Name, To: d.p.ID, ToName: d.p.Name, Reason: reason})
	s.used--
	d.used++
	if k := m.AffinityKey; k != "" {
		rb.dropKey(s.idx, k)
		rb.addKey(d.idx, k)
	}
}

// addKey counts one member of key k on pool pi.
func (rb *rebalancer) addKey(pi int, k string) {
	p := rb.pools[pi]
	if p.keys[k]++; p.keys[k] == 1 {
		if rb.holders[k] == nil {
			rb.holders[k] = map[int]struct{}{}
		}
		rb.holders[k][pi] = struct{}{}
	}
}

// dropKey counts one member of key k less on pool pi.
func (rb *rebalancer) dropKey(pi int, k string) {
	p := rb.pools[pi]
	if p.keys[k]--; p.keys[k] <= 0 {
		delete(p.keys, k)
		delete(rb.holders[k], pi)
	}
}

// rbOrder is pools sorted by less, each pool's pos its place.
func rbOrder(pools []*rbPool, less func(a, b *rbPool) bool) []*rbPool {
	order := slices.Clone(pools)
	sort.Slice(order, func(i, j int) bool { return less(order[i], order[j]) })
	for i, p := range order {
		p.pos = i
	}
	return order
}

// rbReorder puts p back in its place in order (from rbOrder, with the same
// less) after what less compares of p changed.
func rbReorder(order []*rbPool, p *rbPool, less func(a, b *rbPool) bool) []*rbPool {
	order = slices.Delete(order, p.pos, p.pos+1)
	at := sort.Search(len(order), func(i int) bool { return less(p, order[i]) })
	order = slices.Insert(order, at, p)
	for i := min(at, p.pos); i < len(order); i++ {
		order[i].pos = i
	}
	return order
}

// spread: see the comment at the top of the file.
func (rb *rebalancer) spread() {
	n := len(rb.pools)
	if n < 2 {
		return
	}
	less := func(a, b *rbPool) bool {
		if c := rbCmpLoad(a, b); c != 0 {
			return c < 0
		}
		return a.p.ID < b.p.ID
	}
	order := rbOrder(rb.pools, less)
	minUnit := math.Inf(1)
	for _, p := range rb.pools {
		minUnit = min(minUnit, p.unit)
	}
	// reorder puts p back in its place after its load changed.
	reorder := func(p *rbPool) { order = rbReorder(order, p, less) }
	for len(rb.moves) < rb.max {
		moved := false
		minLoad := order[0].load()
		for si := n - 1; si > 0 && !moved; si-- {
			s := order[si]
			a := s.load()
			// The early ends below are taken only when no later pair can
			// narrow, with room for rounding; narrows decides exactly.
			if 2*(a-minLoad) < 2*minUnit-1e-9 {
				break // no pair narrows any more
			}
			if s.movable == 0 {
				continue
			}
			for di := 0; di < si; di++ {
				d := order[di]
				b := d.load()
				if 2*(a-b) < s.unit+minUnit-1e-9 {
					break // the pools after d are loaded at least as much
				}
				if d.free() == 0 || !narrows(s, d) {
					continue
				}
				c := -1
				for _, cl := range s.classes {
					if rb.accepts(cl, d.idx) {
						c = cl
						break
					}
				}
				if c < 0 {
					continue
				}
				reason := fmt.Sprintf("spread: %s %d/%d → %s %d/%d", s.p.Name, s.used, s.p.Capacity, d.p.Name, d.used, d.p.Capacity)
				rb.move(s.take(c), s, d, reason)
				reorder(s)
				reorder(d)
				moved = true
				break
			}
		}
		if !moved {
			return
		}
	}
}

// pack: see the comment at the top of the file.
func (rb *rebalancer) pack() {
	n := len(rb.pools)
	if n < 2 {
		return
	}
	sources := slices.Clone(rb.pools)
	sort.Slice(sources, func(i, j int) bool {
		a, b := sources[i], sources[j]
		if a.used != b.used {
			return a.used < b.used
		}
		if c := rbCmpLoad(a, b); c != 0 {
			return c < 0
		}
		return a.p.ID < b.p.ID
	})
	emptied := make([]bool, n)
	kept := make([]bool, n) // received members or cannot be emptied
	// Targets by free room, fewest first (best fit), then fullest, then id.
	tless := func(a, b *rbPool) bool {
		if fa, fb := a.free(), b.free(); fa != fb {
			return fa < fb
		}
		if a.used != b.used {
			return a.used > b.used
		}
		return a.p.ID < b.p.ID
	}
	targets := rbOrder(rb.pools, tless)
	reorder := func(p *rbPool) { targets = rbReorder(targets, p, tless) }
	// fits reports whether pool t takes every member of ms.
	fits := func(t *rbPool, ms []int, classOf map[int]int) bool {
		ti := t.idx
		for _, mi := range ms {
			if !rb.accepts(classOf[mi], ti) {
				return false
			}
		}
		return true
	}
	// bestFor chooses the pool for a group of members leaving s: a holder
	// of the key with room for all of them, fullest first; else the pool
	// with the least room that still has room for all of them.
	bestFor := func(s *rbPool, key string, ms []int, classOf map[int]int) *rbPool {
		k := len(ms)
		at := sort.Search(len(targets), func(i int) bool { return targets[i].free() >= k })
		var best *rbPool
		if hs := rb.holders[key]; key != "" && len(hs) > 64 {
			// A key held widely: the first holder in the targets' order
			// is the best, and comes soon.
			for _, t := range targets[at:] {
				if t.keys[key] > 0 && t != s && !emptied[t.idx] && t.used > 0 && fits(t, ms, classOf) {
					return t
				}
			}
		} else if key != "" {
			for ti := range hs {
				t := rb.pools[ti]
				if t == s || emptied[ti] || t.used == 0 || t.free() < k || !fits(t, ms, classOf) {
					continue
				}
				if best == nil || tless(t, best) {
					best = t
				}
			}
			if best != nil {
				return best
			}
		}
		for _, t := range targets[at:] {
			if t == s || emptied[t.idx] || t.used == 0 || !fits(t, ms, classOf) {
				continue
			}
			return t
		}
		return nil
	}
	type undo struct {
		mi   int
		s, d *rbPool
	}
	for _, s := range sources {
		si := s.idx
		if kept[si] || s.used == 0 {
			continue
		}
		if len(rb.moves)+s.used > rb.max {
			break // the others are at least as full
		}
		room := 0 // in the other pools in use
		for _, t := range rb.pools {
			if t != s && t.used > 0 && !emptied[t.idx] {
				room += t.free()
			}
		}
		if s.pinned || s.movable != s.used || room < s.used {
			kept[si] = true
			continue
		}
		// s is no target while it is being emptied.
		targets = slices.Delete(targets, s.pos, s.pos+1)
		for i := s.pos; i < len(targets); i++ {
			targets[i].pos = i
		}
		putBack := func() {
			at := sort.Search(len(targets), func(i int) bool { return tless(s, targets[i]) })
			targets = slices.Insert(targets, at, s)
			for i := at; i < len(targets); i++ {
				targets[i].pos = i
			}
		}
		// s's members by affinity key (a member without a key is a group
		// of one), the biggest group first.
		classOf := map[int]int{}
		groups := map[string][]int{}
		var singles [][]int
		for _, c := range s.classes {
			for _, mi := range s.byClass[c] {
				classOf[mi] = c
				if k := rb.members[mi].AffinityKey; k != "" {
					groups[k] = append(groups[k], mi)
				} else {
					singles = append(singles, []int{mi})
				}
			}
		}
		type group struct {
			key string
			ms  []int
		}
		var order []group
		for k, ms := range groups {
			sort.Ints(ms)
			order = append(order, group{k, ms})
		}
		sort.Slice(order, func(i, j int) bool {
			if len(order[i].ms) != len(order[j].ms) {
				return len(order[i].ms) > len(order[j].ms)
			}
			return order[i].key < order[j].key
		})
		sort.Slice(singles, func(i, j int) bool { return singles[i][0] < singles[j][0] })
		for _, ms := range singles {
			order = append(order, group{"", ms})
		}
		var done []undo
		mark := len(rb.moves)
		ok := true
		place := func(mi int, d *rbPool, key string) {
			reason := fmt.Sprintf("pack: empties %s (%d/%d) into %s (%d/%d)", s.p.Name, s.used, s.p.Capacity, d.p.Name, d.used, d.p.Capacity)
			if key != "" && d.keys[key] > 0 {
				reason += ", which holds " + key
			}
			rb.move(mi, s, d, reason)
			reorder(d)
			done = append(done, undo{mi, s, d})
		}
		for _, g := range order {
			if d := bestFor(s, g.key, g.ms, classOf); d != nil {
				for _, mi := range g.ms {
					place(mi, d, g.key)
				}
				continue
			}
			// No pool has room for the whole group: one by one.
			for _, mi := range g.ms {
				d := bestFor(s, g.key, []int{mi}, classOf)
				if d == nil {
					ok = false
					break
				}
				place(mi, d, g.key)
			}
			if !ok {
				break
			}
		}
		if !ok {
			for i := len(done) - 1; i >= 0; i-- {
				u := done[i]
				m := rb.members[u.mi]
				u.d.used--
				u.s.used++
				if k := m.AffinityKey; k != "" {
					rb.dropKey(u.d.idx, k)
					rb.addKey(u.s.idx, k)
				}
				reorder(u.d)
			}
			rb.moves = rb.moves[:mark]
			kept[si] = true
			putBack()
			continue
		}
		// s is empty, and nobody fills it again in this plan; the pools
		// that took its members are never emptied in it.
		for _, u := range done {
			kept[u.d.idx] = true
		}
		emptied[si] = true
		s.byClass, s.classes, s.movable = map[int][]int{}, nil, 0
		putBack()
	}
}
