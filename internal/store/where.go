package store

import (
	"fmt"
	"strings"
)

// where builds a WHERE clause from the filters a caller actually set.
//
// The catch-all form "($1 = ” OR col = $1)" keeps one SQL text for every
// combination of filters, but SQLite then cannot use col's index and scans
// the table (and PostgreSQL's generic plans can do the same): a seat
// lookup by member took 80 ms at 1M members that way, 0.1 ms this way
// (docs/bench.md, the scale curve); an audit listing by a rare actor
// among 200k entries, 250 ms against 1.5 ms (listing_bench_test.go). Every
// listing in store builds its WHERE this way; listing_test.go holds the
// ones that were catch-alls to their former statements.
type where struct {
	conds []string
	args  []any
}

// add appends a condition; each "?" in cond becomes a placeholder bound to
// arg (the same arg for all of them).
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(w.args))))
}

// arg binds one more argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

// String is " WHERE c1 AND c2 …", or "" without conditions.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// The most rows one call of a listing answers; a larger limit is cut to it.
const (
	AuditMaxLimit   = 100000 // AuditList
	CodeMaxLimit    = 100000 // CodeList
	HistoryMaxLimit = 10000  // HistoryList
)

// pageLimit is a listing's LIMIT: n, or def when n is 0 or less, and at
// most max when max > 0.
func pageLimit(n, def, max int) int {
	switch {
	case n <= 0:
		return def
	case max > 0 && n > max:
		return max
	}
	return n
}
