package store

import (
	"context"
	"database/sql"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// The statement cache (SQLite only).
//
// modernc.org/sqlite prepares, steps and finalizes a statement anew for every
// ExecContext/QueryContext on a *sql.DB or *sql.Tx, while a statement from
// Prepare keeps its sqlite3_stmt and only resets it between runs. stmtCache
// prepares each distinct query string once per pool (database/sql's *sql.Stmt
// then prepares it lazily on every connection of the pool that runs it) and
// runs the prepared statement. PostgreSQL does not use it: pgx's stdlib driver
// already caches prepared statements per connection.
//
// In a transaction (txStmts) a cached statement is bound to the transaction
// with Tx.StmtContext: database/sql reuses the driver statement the parent
// already prepared on the transaction's connection (it looks it up in the
// parent's per-connection list and prepares only if the connection has none),
// and closes the bound statement at commit or rollback, leaving the parent's
// driver statement open for the next transaction. A bound statement is kept
// per transaction and query string, so a query run 100 times in one
// transaction is bound once.
//
// A query not cached yet cannot be prepared on the pool from inside a
// transaction: on SQLite the write pool has one connection, held by the
// transaction, and DB.PrepareContext would wait for it forever. It is then
// prepared on the transaction (reused within it, closed with it) and noted
// as pending; InTx prepares pending queries on the pool before the next
// transaction begins, where it waits for that connection anyway.
//
// Bounds: at most limit distinct query strings per pool (cached and pending);
// after that, new strings run unprepared as before. A query with more than
// stmtMaxArgs arguments is "large": its text is built for a list (IN lists,
// multi-row inserts), so it varies with the length of the list. A large
// query is cached only when the same text comes a second time (the full
// chunks of a bulk import do; a last, shorter chunk seldom does), and at
// most stmtLargeLimit of them per pool. Queries longer than stmtMaxLen are
// never cached.
//
// Errors are unchanged: a query that fails to prepare is run unprepared, so
// the caller sees exactly the error it saw before the cache, and
// QueryRowContext returns the *sql.Row of the prepared statement (Scan
// reports sql.ErrNoRows as before).
//
// One thing the cache changes: all runs of one query string on one
// connection share one sqlite3_stmt. Inside a transaction, running a query
// again while *sql.Rows of the same query string are still open would step
// or rebind the open cursor's statement and break it. No store method does
// that: every method reads its rows to the end and closes them before it
// returns, and none runs a query inside its row loop.

const (
	// stmtCacheLimit is the default number of distinct query strings a pool
	// keeps prepared (the store has about 100 query call sites).
	stmtCacheLimit = 1000
	// stmtMaxArgs: a query with more arguments is large (berth's static
	// queries take at most 10).
	stmtMaxArgs = 32
	// stmtLargeLimit is how many large queries a pool keeps prepared (a
	// prepared 128-row insert holds a few hundred KB). The store's
	// multi-row statements come in a few fixed row counts and its id lists
	// in a few lengths (bulk.go): about 25 texts.
	stmtLargeLimit = 48
	// stmtSeenLimit bounds the large queries remembered as seen once.
	stmtSeenLimit = 256
	// stmtMaxLen: a longer query runs unprepared.
	stmtMaxLen = 64 << 10
)

// StmtCacheStats describes a pool's statement cache (tests, diagnostics).
type StmtCacheStats struct {
	Cached     int   // query strings prepared on the pool and kept
	Pending    int   // query strings to prepare on the pool before the next transaction
	Large      int   // large query strings among Cached and Pending
	Prepares   int64 // statements prepared on the pool (each query string once)
	TxPrepares int64 // statements prepared on a transaction because the pool had none yet
	Hits       int64 // runs of a statement prepared earlier (on the pool or in the transaction)
	Bypassed   int64 // runs not prepared: limit reached, large and new, too long, or a prepare error
}

// stmtCache prepares statements on one pool; it implements dbtx.
type stmtCache struct {
	db *sql.DB

	mu      sync.RWMutex
	limit   int
	closed  bool
	stmts   map[string]*sql.Stmt
	pending map[string]bool // value: large
	large   int             // large queries in stmts and pending
	seen    map[uint64]bool // hashes of large queries seen once
	seed    maphash.Seed

	prepares, txPrepares, hits, bypassed atomic.Int64
}

func newStmtCache(db *sql.DB, limit int) *stmtCache {
	return &stmtCache{db: db, limit: limit, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{},
		seen: map[uint64]bool{}, seed: maphash.MakeSeed()}
}

// lookup returns the pool's statement for query, nil if it has none.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	st := c.stmts[query]
	c.mu.RUnlock()
	return st
}

// hasLocked tells whether query is cached or pending; c.mu is held.
func (c *stmtCache) hasLocked(query string) bool {
	if _, ok := c.stmts[query]; ok {
		return true
	}
	_, ok := c.pending[query]
	return ok
}

// roomLocked tells whether a query not cached nor pending fits in the
// cache; c.mu is held.
func (c *stmtCache) roomLocked(nargs int) bool {
	return !c.closed && len(c.stmts)+len(c.pending) < c.limit && (nargs <= stmtMaxArgs || c.large < stmtLargeLimit)
}

// admit tells whether a query not cached is worth preparing to keep: it
// is (or is about to be) pending, or there is room for it and, if it is
// large, this is the second time it comes.
func (c *stmtCache) admit(query string, nargs int) bool {
	if len(query) > stmtMaxLen {
		return false
	}
	if nargs <= stmtMaxArgs {
		c.mu.RLock()
		ok := c.hasLocked(query) || c.roomLocked(nargs)
		c.mu.RUnlock()
		return ok
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hasLocked(query) {
		return true
	}
	if !c.roomLocked(nargs) {
		return false
	}
	h := maphash.String(c.seed, query)
	if c.seen[h] {
		delete(c.seen, h)
		return true
	}
	if len(c.seen) >= stmtSeenLimit {
		clear(c.seen)
	}
	c.seen[h] = true
	return false
}

// stmt returns the pool's prepared statement for query, preparing it on
// first use; nil when the query is to run unprepared.
func (c *stmtCache) stmt(ctx context.Context, query string, nargs int) *sql.Stmt {
	if st := c.lookup(query); st != nil {
		c.hits.Add(1)
		return st
	}
	if !c.admit(query, nargs) {
		c.bypassed.Add(1)
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		// Run it unprepared: the caller gets the error it always got.
		c.bypassed.Add(1)
		return nil
	}
	if kept := c.keep(query, nargs, st); kept != st {
		st.Close()
		if kept == nil {
			c.bypassed.Add(1)
		}
		return kept
	}
	c.prepares.Add(1)
	return st
}

// keep stores st for query and returns it, or returns the statement another
// goroutine stored first, or nil when there is no room (or the cache is
// closed); in the last two cases the caller closes st.
func (c *stmtCache) keep(query string, nargs int, st *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.stmts[query]; old != nil {
		return old
	}
	if c.closed {
		return nil
	}
	if _, ok := c.pending[query]; ok {
		delete(c.pending, query) // its place is taken already
	} else if !c.roomLocked(nargs) {
		return nil
	} else if nargs > stmtMaxArgs {
		c.large++
	}
	c.stmts[query] = st
	return st
}

// want notes query (prepared in a transaction) to be prepared on the pool
// before the next transaction.
func (c *stmtCache) want(query string, nargs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hasLocked(query) || !c.roomLocked(nargs) {
		return
	}
	c.pending[query] = nargs > stmtMaxArgs
	if nargs > stmtMaxArgs {
		c.large++
	}
}

// preparePending prepares the queries transactions asked for. It waits for
// a connection of the pool like the BeginTx that follows it; a query that
// fails to prepare here is dropped (it keeps running as before).
func (c *stmtCache) preparePending(ctx context.Context) {
	c.mu.RLock()
	queries := make(map[string]int, len(c.pending))
	for q, large := range c.pending {
		queries[q] = 0
		if large {
			queries[q] = stmtMaxArgs + 1
		}
	}
	c.mu.RUnlock()
	for q, nargs := range queries {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return // keep them pending for a transaction whose context is alive
			}
			c.mu.Lock()
			if large, ok := c.pending[q]; ok {
				delete(c.pending, q)
				if large {
					c.large--
				}
			}
			c.mu.Unlock()
			continue
		}
		if kept := c.keep(q, nargs, st); kept != st {
			st.Close()
			continue
		}
		c.prepares.Add(1)
	}
}

// setLimit changes the limit; statements already kept stay.
func (c *stmtCache) setLimit(n int) {
	c.mu.Lock()
	c.limit = n
	c.mu.Unlock()
}

// Close closes every statement; later calls run unprepared on the (closed)
// pool, so they fail as they did before the cache.
func (c *stmtCache) Close() error {
	c.mu.Lock()
	stmts := c.stmts
	c.stmts, c.pending, c.seen = map[string]*sql.Stmt{}, map[string]bool{}, map[uint64]bool{}
	c.large = 0
	c.closed = true
	c.mu.Unlock()
	var first error
	for _, st := range stmts {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (c *stmtCache) stats() StmtCacheStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return StmtCacheStats{Cached: len(c.stmts), Pending: len(c.pending), Large: c.large, Prepares: c.prepares.Load(),
		TxPrepares: c.txPrepares.Load(), Hits: c.hits.Load(), Bypassed: c.bypassed.Load()}
}

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query, len(args)); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.db.ExecContext(ctx, query, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query, len(args)); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query, len(args)); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// txStmts runs a transaction's queries through the pool's cache; it
// implements dbtx. Its statements are bound to tx and closed by database/sql
// at commit or rollback.
type txStmts struct {
	c  *stmtCache
	tx *sql.Tx

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) inTx(tx *sql.Tx) *txStmts { return &txStmts{c: c, tx: tx} }

// stmt returns the transaction's statement for query, nil when the query is
// to run unprepared.
func (t *txStmts) stmt(ctx context.Context, query string, nargs int) *sql.Stmt {
	t.mu.Lock()
	st := t.stmts[query]
	t.mu.Unlock()
	if st != nil {
		t.c.hits.Add(1)
		return st
	}
	if ctx.Err() != nil {
		// A done context: let the unprepared call report it, as before.
		t.c.bypassed.Add(1)
		return nil
	}
	if parent := t.c.lookup(query); parent != nil {
		// Reuses parent's driver statement on this connection (see above).
		st = t.tx.StmtContext(ctx, parent)
		t.c.hits.Add(1)
	} else {
		if !t.c.admit(query, nargs) {
			t.c.bypassed.Add(1)
			return nil
		}
		var err error
		if st, err = t.tx.PrepareContext(ctx, query); err != nil {
			// Run it unprepared: the caller gets the error it always got.
			t.c.bypassed.Add(1)
			return nil
		}
		t.c.txPrepares.Add(1)
		t.c.want(query, nargs)
	}
	t.mu.Lock()
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = st
	t.mu.Unlock()
	return st
}

// forget drops query's statement after a failed run, so that a statement
// that failed to bind to the transaction (its error is sticky) is not
// reused; the next run binds it again.
func (t *txStmts) forget(query string) {
	t.mu.Lock()
	delete(t.stmts, query)
	t.mu.Unlock()
}

// viaStmt runs query with the transaction's statement for it (prepared), or
// unprepared (direct) when stmt gives none; a failed prepared run forgets
// the statement.
func viaStmt[T any](t *txStmts, ctx context.Context, query string, args []any,
	direct func(context.Context, string, ...any) (T, error), prepared func(*sql.Stmt, context.Context, ...any) (T, error)) (T, error) {
	st := t.stmt(ctx, query, len(args))
	if st == nil {
		return direct(ctx, query, args...)
	}
	v, err := prepared(st, ctx, args...)
	if err != nil {
		t.forget(query)
	}
	return v, err
}

func (t *txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return viaStmt(t, ctx, query, args, t.tx.ExecContext, (*sql.Stmt).ExecContext)
}

func (t *txStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return viaStmt(t, ctx, query, args, t.tx.QueryContext, (*sql.Stmt).QueryContext)
}

func (t *txStmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st := t.stmt(ctx, query, len(args))
	if st == nil {
		return t.tx.QueryRowContext(ctx, query, args...)
	}
	row := st.QueryRowContext(ctx, args...)
	if row.Err() != nil {
		t.forget(query)
	}
	return row
}
