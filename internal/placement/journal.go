package placement

import "maps"

// The journal lets a caller take back what it told the index inside a
// database transaction that did not commit. Every change (Commit, Release,
// Upsert, Recount, MarkFull, SetHealth, Remove) records the pool's state before it;
// Undo(mark) restores, newest first, every pool changed since Mark, so a
// rolled-back transaction (or one request of a group commit rolled back to
// its savepoint) leaves the index exactly as it was, and no error ever has
// to throw the index away. Forget drops the record once the changes are
// durable. Place records nothing: the ordered sets it may build for a new
// label constraint are derived from the pools and stay correct.

// undoRec is one pool's state before one change.
type undoRec struct {
	id      int64
	existed bool
	pool    Pool
	marked  bool
	// health and degraded: see Index.SetHealth.
	health   float64
	degraded bool
	// key and keyCount: the affinity key the change touched ("" for none)
	// and its count before.
	key      string
	keyCount int
	// keys: every affinity count of a pool that was removed.
	keys map[string]int
}

// save records the state of pool id before a change touching key.
func (ix *Index) save(id int64, key string) {
	if !ix.recording {
		return
	}
	e := ix.pools[id]
	if e == nil {
		ix.journal = append(ix.journal, undoRec{id: id})
		return
	}
	r := undoRec{id: id, existed: true, pool: e.pool, marked: e.marked, health: e.health, degraded: e.degraded, key: key}
	if key != "" {
		r.keyCount = e.keys[key]
	}
	ix.journal = append(ix.journal, r)
}

// saveRemoved records a pool about to be removed, with all its counts.
func (ix *Index) saveRemoved(e *entry) {
	if !ix.recording {
		return
	}
	ix.journal = append(ix.journal, undoRec{id: e.pool.ID, existed: true, pool: e.pool, marked: e.marked,
		health: e.health, degraded: e.degraded, keys: maps.Clone(e.keys)})
}

// Mark starts recording, if it was not, and returns a position in the
// journal for Undo. Nothing is recorded outside a Mark … Forget span.
func (ix *Index) Mark() int {
	ix.recording = true
	return len(ix.journal)
}

// Undo restores every pool changed since mark to its state at mark and
// drops those records. A mark beyond the journal (it was forgotten since)
// undoes nothing.
func (ix *Index) Undo(mark int) {
	for i := len(ix.journal) - 1; i >= mark && i >= 0; i-- {
		r := ix.journal[i]
		e := ix.pools[r.id]
		if !r.existed {
			if e != nil {
				ix.detach(e)
				delete(ix.pools, r.id)
			}
			continue
		}
		if e == nil {
			e = newEntry()
			ix.pools[r.id] = e
		} else {
			ix.detach(e)
		}
		e.pool, e.marked, e.health, e.degraded = r.pool, r.marked, r.health, r.degraded
		if r.keys != nil {
			e.keys = r.keys
		}
		if r.key != "" {
			if r.keyCount > 0 {
				e.keys[r.key] = r.keyCount
			} else {
				delete(e.keys, r.key)
			}
		}
		ix.attach(e)
	}
	if mark < len(ix.journal) {
		ix.journal = ix.journal[:max(mark, 0)]
	}
}

// Forget drops the journal and stops recording: the changes recorded so
// far are durable.
func (ix *Index) Forget() {
	clear(ix.journal) // let removed pools' maps go
	ix.journal = ix.journal[:0]
	ix.recording = false
}
