package placement

import (
	"cmp"
	"slices"
	"strings"
)

// label is one key=value constraint.
type label struct{ key, value string }

// partition holds, in ordered sets, the eligible pools (active, with free
// room) of one kind whose labels satisfy one set of constraints. Each is
// built on the first request that asks for its constraints and kept up to
// date from then on.
type partition struct {
	cons []label          // sorted by key; empty for requests without labels
	free *tree            // most free room first (pack, no holder)
	load *tree            // least loaded first (spread); nil until first asked for
	held map[string]*tree // per affinity key, pools holding it, least free room first (pack)
	// degraded counts the degraded pools in the partition (each order puts
	// them after the healthy ones).
	degraded int
	// isolated: the constraints name no group, so pools closed to
	// ungrouped requests (closed) do not match.
	isolated bool
}

// newRequestPartition is the partition for a request's constraints: it
// applies group isolation when they name no group.
func newRequestPartition(cons []label) *partition {
	p := &partition{cons: cons, free: newTree(cmpMostFree), held: map[string]*tree{}}
	p.isolated = !slices.ContainsFunc(cons, func(l label) bool { return l.key == GroupLabel })
	return p
}

// constraints turns request labels into a sorted constraint list.
func constraints(m map[string]string) []label {
	cons := make([]label, 0, len(m))
	for k, v := range m {
		cons = append(cons, label{k, v})
	}
	slices.SortFunc(cons, func(a, b label) int { return strings.Compare(a.key, b.key) })
	return cons
}

// fewConstraints is constraints(m) written into buf (by insertion, for the
// few labels a request carries, so that buf can stay on the stack); it
// falls back to constraints when m has more labels than buf holds.
func fewConstraints(buf []label, m map[string]string) []label {
	if len(m) > cap(buf) {
		return constraints(m)
	}
	cons := buf[:0]
	for k, v := range m {
		cons = append(cons, label{k, v})
		for i := len(cons) - 1; i > 0 && cons[i].key < cons[i-1].key; i-- {
			cons[i], cons[i-1] = cons[i-1], cons[i]
		}
	}
	return cons
}

// constraintKey is a canonical map key for a sorted constraint list.
func constraintKey(cons []label) string { return string(appendConstraintKey(nil, cons)) }

// appendConstraintKey appends constraintKey(cons) to dst.
func appendConstraintKey(dst []byte, cons []label) []byte {
	for _, l := range cons {
		dst = append(dst, l.key...)
		dst = append(dst, 0)
		dst = append(dst, l.value...)
		dst = append(dst, 1)
	}
	return dst
}

// matches reports whether a pool with these labels satisfies p's constraints.
func (p *partition) matches(labels map[string]string) bool {
	for _, c := range p.cons {
		if v, ok := labels[c.key]; !ok || v != c.value {
			return false
		}
	}
	return !p.isolated || !closed(labels)
}

func (p *partition) add(e *entry) {
	if e.degraded {
		p.degraded++
	}
	p.free.insert(e)
	if p.load != nil {
		p.load.insert(e)
	}
	for k := range e.keys {
		t := p.held[k]
		if t == nil {
			t = newTree(cmpLeastFree)
			p.held[k] = t
		}
		t.insert(e)
	}
}

func (p *partition) remove(e *entry) {
	if e.degraded {
		p.degraded--
	}
	p.free.delete(e)
	if p.load != nil {
		p.load.delete(e)
	}
	for k := range e.keys {
		if t := p.held[k]; t != nil {
			t.delete(e)
			if t.len() == 0 {
				delete(p.held, k)
			}
		}
	}
}

// loadTree returns the spread order, building it on first use.
func (p *partition) loadTree() *tree {
	if p.load == nil {
		p.load = newTree(cmpLoad)
		p.free.ascend(func(e *entry) bool {
			p.load.insert(e)
			return true
		})
	}
	return p.load
}

// Orders. Each begins with the health tier (healthy pools before degraded
// ones: cmpTier) and ends with priority (lower first), name and id, so it
// is a strict total order and ties are broken the way docs/design.md asks.
// The tier is the first key rather than a weight in the score so that a
// decision stays a walk from the front of one ordered set: the first
// entry is healthy whenever a healthy pool is eligible, and degraded pools
// are reached only when none is (O(log n) either way).

// cmpTier puts healthy pools before degraded ones.
func cmpTier(a, b *entry) int {
	switch {
	case a.degraded == b.degraded:
		return 0
	case b.degraded:
		return -1
	}
	return 1
}

func cmpTie(a, b *entry) int {
	if c := cmp.Compare(a.pool.Priority, b.pool.Priority); c != 0 {
		return c
	}
	if c := strings.Compare(a.pool.Name, b.pool.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.pool.ID, b.pool.ID)
}

// cmpMostFree puts the pool with the most free room × weight first.
func cmpMostFree(a, b *entry) int {
	if c := cmpTier(a, b); c != 0 {
		return c
	}
	if c := cmp.Compare(int64(b.free)*b.pool.weight(), int64(a.free)*a.pool.weight()); c != 0 {
		return c
	}
	return cmpTie(a, b)
}

// cmpLeastFree puts the fullest pool that still has room first.
func cmpLeastFree(a, b *entry) int {
	if c := cmpTier(a, b); c != 0 {
		return c
	}
	if c := cmp.Compare(a.free, b.free); c != 0 {
		return c
	}
	return cmpTie(a, b)
}

// cmpLoad puts the lowest used/(capacity × weight) first. Pools in a tree
// have 0 <= used < capacity, so cross-multiplying compares the ratios
// exactly.
func cmpLoad(a, b *entry) int {
	if c := cmpTier(a, b); c != 0 {
		return c
	}
	x := int64(a.pool.Used) * int64(b.pool.Capacity) * b.pool.weight()
	y := int64(b.pool.Used) * int64(a.pool.Capacity) * a.pool.weight()
	if c := cmp.Compare(x, y); c != 0 {
		return c
	}
	return cmpTie(a, b)
}
