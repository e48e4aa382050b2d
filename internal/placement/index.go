package placement

import (
	"slices"

	"github.com/berthhq/berth/internal/model"
)

// Index is an in-memory, mutable placement index over a set of pools.
//
// Every method, Place included, may change internal state (Place builds the
// ordered sets for a label constraint the first time it is asked for), so an
// Index is not safe for concurrent use: callers serialize all calls, e.g.
// with one sync.Mutex (not a read lock for Place).
type Index struct {
	pools map[int64]*entry
	kinds map[model.Kind]*kindState
	// journal records the state of each pool before each change, for Undo
	// (journal.go).
	journal   []undoRec
	recording bool
}

// entry is one pool as the index holds it.
type entry struct {
	pool   Pool
	marked bool           // the database refused a seat: full until Upsert
	keys   map[string]int // affinity key -> members, only counts > 0
	free   int            // free room as the ordered sets see it
	parts  []*partition   // partitions holding the entry; empty unless eligible
	in     bool           // counted in its kind's state
	// health is the pool's health score (SetHealth; 1 until told), and
	// degraded puts the pool after every healthy one in each order.
	health   float64
	degraded bool
}

// newEntry is a pool the index has not seen: healthy until told.
func newEntry() *entry { return &entry{keys: map[string]int{}, health: 1} }

// kindState holds the counters and partitions of one pool kind.
type kindState struct {
	total  int                      // pools of the kind
	status map[model.PoolStatus]int // pools per non-active status
	full   int                      // active pools without room
	// eligible counts the active pools with room (each is in every
	// partition it matches).
	eligible int
	parts    map[string]*partition // by constraintKey
	// ungrouped is the partition of requests without constraints: the
	// pools that take members naming no group (group isolation); nil
	// until first asked for.
	ungrouped *partition
	// byFirst lists the partitions with constraints under their first
	// constraint only, so a pool finds each partition it matches once.
	byFirst map[label][]*partition
	// held: the pools one change away from eligible, for WouldFit
	// (wouldfit.go).
	held held
}

// NewIndex builds an index over pools. affinity maps a pool id to the number
// of members per affinity key it holds; entries for unknown pools and counts
// below one are ignored. A pool listed twice is taken from its last listing.
func NewIndex(pools []Pool, affinity map[int64]map[string]int) *Index {
	ix := &Index{pools: make(map[int64]*entry, len(pools)), kinds: map[model.Kind]*kindState{}}
	for _, p := range pools {
		e := ix.pools[p.ID]
		if e == nil {
			e = newEntry()
			ix.pools[p.ID] = e
		}
		e.pool = p.normalized()
	}
	for id, keys := range affinity {
		if e := ix.pools[id]; e != nil {
			for k, n := range keys {
				if k != "" && n > 0 {
					e.keys[k] = n
				}
			}
		}
	}
	for _, p := range pools {
		ix.attach(ix.pools[p.ID]) // once per pool: attach skips an attached entry
	}
	return ix
}

// Len is the number of pools in the index.
func (ix *Index) Len() int { return len(ix.pools) }

// Pool returns the pool with this id as the index sees it.
func (ix *Index) Pool(id int64) (Pool, bool) {
	e := ix.pools[id]
	if e == nil {
		return Pool{}, false
	}
	return e.pool, true
}

// Room is the room the index sees in a pool for new members: 0 when the
// pool is unknown, does not take members, is full or was marked full.
func (ix *Index) Room(id int64) int {
	e := ix.pools[id]
	if e == nil || !e.pool.Status.TakesMembers() || e.marked {
		return 0
	}
	return max(e.pool.Free(), 0)
}

// AffinityCount is the number of members with affinity key key in the pool.
func (ix *Index) AffinityCount(poolID int64, key string) int {
	if e := ix.pools[poolID]; e != nil {
		return e.keys[key]
	}
	return 0
}

// Upsert adds a pool or replaces what the index knows of it (status,
// capacity, used, labels, priority, kind). The pool's affinity counts and
// health are kept, and a mark set by MarkFull is cleared. Negative counts are read as
// zero; the labels are copied.
func (ix *Index) Upsert(p Pool) {
	ix.save(p.ID, "")
	e := ix.pools[p.ID]
	if e == nil {
		e = newEntry()
		ix.pools[p.ID] = e
	} else {
		ix.detach(e)
	}
	e.pool = p.normalized()
	e.marked = false
	ix.attach(e)
}

// Recount sets what the database says of a known pool's counts and status,
// keeping its name, labels, priority and affinity counts, and clears a mark
// set by MarkFull. It reports whether the index's view changed; unknown
// pools are ignored.
func (ix *Index) Recount(id int64, used, capacity int, status model.PoolStatus) bool {
	e := ix.pools[id]
	if e == nil {
		return false
	}
	if e.pool.Used == used && e.pool.Capacity == capacity && e.pool.Status == status && !e.marked {
		return false
	}
	ix.save(id, "")
	ix.detach(e)
	e.pool.Used, e.pool.Capacity, e.pool.Status = max(used, 0), max(capacity, 0), status
	e.marked = false
	ix.attach(e)
	return true
}

// Remove forgets a pool and its affinity counts.
func (ix *Index) Remove(poolID int64) {
	e := ix.pools[poolID]
	if e == nil {
		return
	}
	ix.saveRemoved(e)
	ix.detach(e)
	delete(ix.pools, poolID)
}

// Commit records that a member with affinity key key ("" for none) was
// placed in the pool: its used count and its count for key go up by one.
// Unknown pools are ignored.
func (ix *Index) Commit(poolID int64, key string) {
	e := ix.pools[poolID]
	if e == nil {
		return
	}
	ix.save(poolID, key)
	ix.detach(e)
	e.pool.Used++
	if key != "" {
		e.keys[key]++
	}
	ix.attach(e)
}

// Release is the inverse of Commit: a member with affinity key key left the
// pool. Counts never go below zero. Unknown pools are ignored.
func (ix *Index) Release(poolID int64, key string) {
	e := ix.pools[poolID]
	if e == nil {
		return
	}
	ix.save(poolID, key)
	ix.detach(e)
	if e.pool.Used > 0 {
		e.pool.Used--
	}
	if n := e.keys[key]; n > 1 {
		e.keys[key] = n - 1
	} else {
		delete(e.keys, key)
	}
	ix.attach(e)
}

// SetHealth tells the index a pool's health score (in [0, 1], package
// health) and whether it is degraded: a degraded pool comes after every
// healthy one in each order, so it is chosen only when no healthy pool that
// passes the filters has room (docs/design.md, "Health"). A pool is healthy
// (score 1) until told otherwise; the score is kept across Upsert and
// Recount. It reports whether the index's view changed; unknown pools are
// ignored. O(log n) per partition holding the pool.
func (ix *Index) SetHealth(id int64, score float64, degraded bool) bool {
	e := ix.pools[id]
	if e == nil || (e.health == score && e.degraded == degraded) {
		return false
	}
	ix.save(id, "")
	if e.degraded == degraded {
		e.health = score // the orders do not look at the score
		return true
	}
	ix.detach(e)
	e.health, e.degraded = score, degraded
	ix.attach(e)
	return true
}

// Health is what the index knows of a pool's health: its score and whether
// it is degraded (1, false for a pool never told; 0, false when unknown).
func (ix *Index) Health(id int64) (score float64, degraded bool) {
	if e := ix.pools[id]; e != nil {
		return e.health, e.degraded
	}
	return 0, false
}

// MarkFull treats the pool as full until its next Upsert: the database
// refused a seat in it (a lost race), so the index's count is behind.
func (ix *Index) MarkFull(poolID int64) {
	e := ix.pools[poolID]
	if e == nil || e.marked {
		return
	}
	ix.save(poolID, "")
	ix.detach(e)
	e.marked = true
	ix.attach(e)
}

// kind returns the state of kind k, creating it.
func (ix *Index) kind(k model.Kind) *kindState {
	ks := ix.kinds[k]
	if ks == nil {
		ks = &kindState{
			status:  map[model.PoolStatus]int{},
			parts:   map[string]*partition{},
			byFirst: map[label][]*partition{},
		}
		ix.kinds[k] = ks
	}
	return ks
}

// attach counts e in its kind and, when eligible, puts it into every
// partition it matches. Its order-relevant fields must not change until
// detach.
func (ix *Index) attach(e *entry) {
	if e.in {
		return
	}
	e.in = true
	ks := ix.kind(e.pool.Kind)
	ks.total++
	e.free = e.pool.Free()
	if e.marked {
		e.free = 0
	}
	switch {
	case !e.pool.Status.TakesMembers():
		ks.status[e.pool.Status]++
		ks.hold(e)
	case e.free <= 0:
		ks.full++
		ks.hold(e)
	default:
		ks.eligible++
		e.parts = e.parts[:0]
		if ks.ungrouped != nil && ks.ungrouped.matches(e.pool.Labels) {
			e.parts = append(e.parts, ks.ungrouped)
		}
		for k, v := range e.pool.Labels {
			for _, p := range ks.byFirst[label{k, v}] {
				if p.matches(e.pool.Labels) {
					e.parts = append(e.parts, p)
				}
			}
		}
		for _, p := range e.parts {
			p.add(e)
		}
	}
}

// detach undoes attach.
func (ix *Index) detach(e *entry) {
	if !e.in {
		return
	}
	e.in = false
	ks := ix.kinds[e.pool.Kind]
	ks.total--
	switch {
	case !e.pool.Status.TakesMembers():
		if ks.status[e.pool.Status]--; ks.status[e.pool.Status] == 0 {
			delete(ks.status, e.pool.Status)
		}
		ks.unhold(e)
	case e.free <= 0:
		ks.full--
		ks.unhold(e)
	default:
		ks.eligible--
		for _, p := range e.parts {
			p.remove(e)
		}
		clear(e.parts)
		e.parts = e.parts[:0]
	}
}

// partition returns kind k's partition for the request's label
// constraints, building it from the eligible pools on first use: O(n log n)
// once, then kept up to date by attach and detach.
//
// A request that names no group gets only the pools that take ungrouped
// members (group isolation, [Accepts]); that partition is kept like the
// others, so the rule costs no scan.
func (ix *Index) partition(k model.Kind, ks *kindState, labels map[string]string) *partition {
	var p *partition
	if len(labels) == 0 {
		if ks.ungrouped != nil {
			return ks.ungrouped
		}
		p = newRequestPartition(nil)
		ks.ungrouped = p
	} else {
		// The lookup builds the key on the stack: a request for known
		// constraints allocates nothing here.
		var cb [8]label
		var kb [128]byte
		cons := fewConstraints(cb[:], labels)
		key := appendConstraintKey(kb[:0], cons)
		if p := ks.parts[string(key)]; p != nil {
			return p
		}
		p = newRequestPartition(slices.Clone(cons))
		ks.parts[string(key)] = p
		ks.byFirst[cons[0]] = append(ks.byFirst[cons[0]], p)
	}
	for _, e := range ix.pools {
		if e.in && e.pool.Kind == k && e.pool.Status.TakesMembers() && e.free > 0 && p.matches(e.pool.Labels) {
			p.add(e)
			e.parts = append(e.parts, p)
		}
	}
	return p
}

// isIn reports whether e is in partition p.
func (e *entry) isIn(p *partition) bool {
	for _, q := range e.parts {
		if q == p {
			return true
		}
	}
	return false
}
