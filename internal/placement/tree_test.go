package placement

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTree_MatchesSortedSlice inserts and deletes random entries and checks
// the tree against a sorted slice: size, order, AVL balance, early stop.
func TestTree_MatchesSortedSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	byID := func(a, b *entry) int { return cmp.Compare(a.pool.ID, b.pool.ID) }
	entries := make([]*entry, 300)
	for i := range entries {
		entries[i] = &entry{pool: Pool{ID: int64(i)}}
	}
	tr := newTree(byID)
	var want []*entry
	for step := range 5000 {
		e := entries[r.IntN(len(entries))]
		i, found := slices.BinarySearchFunc(want, e, byID)
		if r.IntN(3) > 0 {
			tr.insert(e)
			if !found {
				want = slices.Insert(want, i, e)
			}
		} else {
			tr.delete(e)
			if found {
				want = slices.Delete(want, i, i+1)
			}
		}
		var got []*entry
		tr.ascend(func(e *entry) bool { got = append(got, e); return true })
		if tr.len() != len(want) || !slices.Equal(got, want) {
			t.Fatalf("step %d: tree has %d entries, want %d, order equal %v", step, tr.len(), len(want), slices.Equal(got, want))
		}
		if err := checkAVL(tr.root); err != "" {
			t.Fatalf("step %d: %s", step, err)
		}
		if k := r.IntN(5); len(want) >= k {
			var first []*entry
			tr.ascend(func(e *entry) bool { first = append(first, e); return len(first) < k })
			if k > 0 && !slices.Equal(first, want[:k]) {
				t.Fatalf("step %d: early stop after %d gave %d entries", step, k, len(first))
			}
		}
	}
}

// checkAVL verifies stored heights and the balance of every node.
func checkAVL(n *node) string {
	if n == nil {
		return ""
	}
	if msg := checkAVL(n.left); msg != "" {
		return msg
	}
	if msg := checkAVL(n.right); msg != "" {
		return msg
	}
	l, r := height(n.left), height(n.right)
	if n.height != 1+max(l, r) {
		return "stale height"
	}
	if l-r > 1 || r-l > 1 {
		return "unbalanced"
	}
	return ""
}
