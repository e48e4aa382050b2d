package placement

// tree is an ordered set of pool entries: an AVL tree under a strict total
// order. It is written here rather than taken from github.com/google/btree
// because the index needs only insert, delete, size and an in-order walk
// that stops early, which fits in a page, and keeping the package free of
// dependencies keeps go.mod untouched. Insert and delete cost O(log n); a
// walk that stops after k entries costs O(log n + k).
//
// The order of an entry must not change while it is in a tree: the index
// removes an entry from its trees before changing its counts and inserts it
// again afterwards.
type tree struct {
	root *node
	cmp  func(a, b *entry) int
	n    int
	// spare is the node the last delete freed, reused by the next insert:
	// the index moves an entry by deleting then inserting it (every Commit
	// and Release), so that costs no allocation.
	spare *node
}

type node struct {
	e           *entry
	left, right *node
	height      int
}

func newTree(cmp func(a, b *entry) int) *tree { return &tree{cmp: cmp} }

// len is the number of entries in the tree.
func (t *tree) len() int { return t.n }

// insert adds e; it is a no-op when e is already present.
func (t *tree) insert(e *entry) { t.root = t.ins(t.root, e) }

// delete removes e; it is a no-op when e is absent.
func (t *tree) delete(e *entry) { t.root = t.del(t.root, e) }

// ascend calls fn for each entry in order until fn returns false.
func (t *tree) ascend(fn func(*entry) bool) { ascend(t.root, fn) }

func ascend(n *node, fn func(*entry) bool) bool {
	for n != nil {
		if !ascend(n.left, fn) || !fn(n.e) {
			return false
		}
		n = n.right
	}
	return true
}

func (t *tree) ins(n *node, e *entry) *node {
	if n == nil {
		t.n++
		if m := t.spare; m != nil {
			t.spare = nil
			*m = node{e: e, height: 1}
			return m
		}
		return &node{e: e, height: 1}
	}
	switch c := t.cmp(e, n.e); {
	case c < 0:
		n.left = t.ins(n.left, e)
	case c > 0:
		n.right = t.ins(n.right, e)
	default:
		return n
	}
	return rebalance(n)
}

func (t *tree) del(n *node, e *entry) *node {
	if n == nil {
		return nil
	}
	switch c := t.cmp(e, n.e); {
	case c < 0:
		n.left = t.del(n.left, e)
	case c > 0:
		n.right = t.del(n.right, e)
	default:
		t.n--
		if n.left == nil || n.right == nil {
			c := n.left
			if c == nil {
				c = n.right
			}
			t.free(n)
			return c
		}
		m := n.right
		for m.left != nil {
			m = m.left
		}
		n.e = m.e
		n.right = deleteMin(n.right) // unlinks m
		t.free(m)
	}
	return rebalance(n)
}

// free keeps a node that left the tree as the spare, holding nothing.
func (t *tree) free(n *node) {
	*n = node{}
	t.spare = n
}

func deleteMin(n *node) *node {
	if n.left == nil {
		return n.right
	}
	n.left = deleteMin(n.left)
	return rebalance(n)
}

func height(n *node) int {
	if n == nil {
		return 0
	}
	return n.height
}

func fix(n *node) {
	n.height = 1 + max(height(n.left), height(n.right))
}

func rotateRight(n *node) *node {
	l := n.left
	n.left = l.right
	l.right = n
	fix(n)
	fix(l)
	return l
}

func rotateLeft(n *node) *node {
	r := n.right
	n.right = r.left
	r.left = n
	fix(n)
	fix(r)
	return r
}

func rebalance(n *node) *node {
	fix(n)
	switch bal := height(n.left) - height(n.right); {
	case bal > 1:
		if height(n.left.left) < height(n.left.right) {
			n.left = rotateLeft(n.left)
		}
		return rotateRight(n)
	case bal < -1:
		if height(n.right.right) < height(n.right.left) {
			n.right = rotateRight(n.right)
		}
		return rotateLeft(n)
	}
	return n
}
