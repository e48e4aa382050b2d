package alloc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// A placer owns one pool kind's placement index and commits that kind's
// placements in groups.
//
// Every request that changes placements of a kind (a redeem, a rebind, an
// import chunk, a queue drain, a re-placement after a failed delivery) is a
// call: a function run inside a transaction with the kind's index. Calls
// that arrive while a batch is running wait together, and the next batch
// runs all of them (up to maxBatchWeight) in one transaction: each call
// after a savepoint, so a call that fails is rolled back alone (its index
// changes undone from the journal, see placement/journal.go) and its
// neighbours commit. The durable write — SQLite's WAL append, PostgreSQL's
// WAL flush — and BEGIN/COMMIT are paid once per batch. There is no timer:
// a lone request runs at once, in a transaction of its own; a crowd forms
// batches by itself while the previous batch commits.
//
// Nobody runs batches in the background: the first caller to find no batch
// running leads, runs one batch (its own call is in it), and hands the lead
// to a fresh goroutine when more calls wait, so its own answer is never held
// up by the crowd behind it and an idle Service holds no goroutine.
//
// Lock order: a caller never holds a database transaction while it waits
// for a placer (on SQLite the write pool has one connection, so that could
// deadlock), and a call never waits for a placer.
type placer struct {
	svc  *Service
	kind model.Kind

	// mu guards the index and the fields below; a batch holds it from begin
	// to commit, every other user (releases, pool changes, refreshes) only
	// briefly.
	mu          sync.Mutex
	ix          *placement.Index
	loadedAt    time.Time
	refreshing  bool
	epoch       int // bumped by Invalidate: a refresh begun before is not swapped in
	syncedAt    time.Time
	recountedAt time.Time
	// batchTx is the transaction of the batch running, and batchSeats the
	// seats its calls made so far: one job delivers them all, enqueued as
	// the batch ends (a seat of a call rolled back is dropped).
	batchTx    *store.Tx
	batchSeats []int64

	// qmu guards the calls waiting for a batch.
	qmu     sync.Mutex
	pending []*placeCall
	leading bool

	// hmu guards healthDirty: the pools whose health changed since the
	// index last heard (health.go), applied under mu before a decision.
	hmu         sync.Mutex
	healthDirty map[int64]struct{}
	// refreshHealth: the pools whose new health went to the old index
	// while a refresh was building the new one (mu held), for the new one.
	refreshHealth map[int64]struct{}
}

// placeFunc is one call's work: it runs inside tx with the kind's index,
// and its ctx is the caller's, with the caller's cancellation removed (a
// client that goes away must not break the transaction its neighbours
// share; a call whose caller is gone before its batch starts is skipped).
type placeFunc func(ctx context.Context, tx *store.Tx, ix *placement.Index) error

type placeCall struct {
	ctx    context.Context
	fn     placeFunc
	redeem *redeemItem // a redeem the batch may place set-wise (redeemBulk)
	weight int
	queued time.Time
	err    error
	done   chan struct{}
}

// maxBatchWeight bounds one batch: a call weighs the members it may place
// (1 for a redeem or rebind, up to placeChunk for an import chunk or a
// queue drain), so a batch stays a bounded transaction holding the write
// connection for milliseconds, not seconds.
const maxBatchWeight = 256

func newPlacer(s *Service, kind model.Kind) *placer { return &placer{svc: s, kind: kind} }

// placerFor returns the placer of a kind.
func (s *Service) placerFor(kind model.Kind) (*placer, error) {
	p := s.placers[kind]
	if p == nil {
		return nil, Invalidf("unknown pool kind %q", kind)
	}
	return p, nil
}

// withIndex runs fn in the kind's next batch and returns fn's error, or the
// batch's when the batch could not commit. weight: see maxBatchWeight.
func (s *Service) withIndex(ctx context.Context, kind model.Kind, weight int, fn placeFunc) error {
	p, err := s.placerFor(kind)
	if err != nil {
		return err
	}
	return p.submit(ctx, fn, weight)
}

func (p *placer) submit(ctx context.Context, fn placeFunc, weight int) error {
	return p.submitItem(ctx, weight, nil, fn)
}

// submitItem is submit for a call that the batch may also handle set-wise:
// a redeem (item), with fn for when it cannot.
func (p *placer) submitItem(ctx context.Context, weight int, item *redeemItem, fn placeFunc) error {
	p.svc.calls.Add(1)
	c := &placeCall{ctx: ctx, fn: fn, redeem: item, weight: max(weight, 1), queued: time.Now(), done: make(chan struct{})}
	p.qmu.Lock()
	p.pending = append(p.pending, c)
	lead := !p.leading
	p.leading = true
	p.qmu.Unlock()
	if lead {
		p.lead()
	}
	<-c.done
	return c.err
}

// lead runs one batch of waiting calls, then hands the lead on to a fresh
// goroutine if more calls wait, or gives it up.
func (p *placer) lead() {
	p.qmu.Lock()
	n, w := 0, 0
	for n < len(p.pending) && (n == 0 || w+p.pending[n].weight <= maxBatchWeight) {
		w += p.pending[n].weight
		n++
	}
	batch := make([]*placeCall, n)
	copy(batch, p.pending)
	p.pending = append(p.pending[:0], p.pending[n:]...)
	p.qmu.Unlock()

	p.runBatch(batch)

	p.qmu.Lock()
	more := len(p.pending) > 0
	p.leading = more
	p.qmu.Unlock()
	if more {
		go p.lead()
	}
}

// runBatch runs calls in one transaction and closes their done channels.
// A call that fails with a transient database error (a deadlock between
// replicas' batches on PostgreSQL) is run again, alone.
func (p *placer) runBatch(batch []*placeCall) {
	start := time.Now()
	live := batch[:0:0]
	for _, c := range batch {
		metrics.PlacerWait(string(p.kind), start.Sub(c.queued))
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	retry := p.runTx(live)
	metrics.PlacerBatch(string(p.kind), len(live), time.Since(start))
	for _, c := range live {
		result := "ok"
		switch {
		case retry[c]:
			result = "retried"
			c.err = nil
			p.runTx([]*placeCall{c})
		case c.err != nil:
			result = "failed"
		}
		metrics.PlacerRequest(string(p.kind), result)
		close(c.done)
	}
}

// runTx runs calls in one transaction holding the index lock and returns
// the calls to run again alone. A lone call owns the transaction (its error
// rolls it back). Several run first optimistically, one after the other
// with nothing between them: refusals are found before a request reaches a
// placer, so a call rarely fails here. If one does, the transaction is
// rolled back, the index undone, and the batch runs again with a savepoint
// around each call, so the failing call is rolled back alone and its
// neighbours commit. (Two statements fewer a call in the common case: on
// PostgreSQL every statement is a round trip inside the batch.)
func (p *placer) runTx(calls []*placeCall) map[*placeCall]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx := context.WithoutCancel(calls[0].ctx)
	ix, err := p.index(ctx)
	if err != nil {
		for _, c := range calls {
			c.err = err
		}
		return nil
	}
	defer ix.Forget()
	if len(calls) > 1 {
		for _, c := range calls {
			c.err = nil
		}
		if err := p.runOnce(ctx, ix, calls, false); !errors.Is(err, errCallFailed) {
			return p.settle(calls, err)
		}
		for _, c := range calls {
			c.err = nil
		}
	}
	return p.settle(calls, p.runOnce(ctx, ix, calls, len(calls) > 1))
}

// errCallFailed ends an optimistic batch run in which a call failed.
var errCallFailed = errors.New("a call of the batch failed")

// runOnce runs calls in one transaction, each after a savepoint or (not
// savepoints) with the first failure rolling back the whole transaction
// (errCallFailed). A failed transaction leaves the index as it found it.
// p.mu held.
func (p *placer) runOnce(ctx context.Context, ix *placement.Index, calls []*placeCall, savepoints bool) error {
	begin := ix.Mark()
	defer func() { p.batchTx, p.batchSeats = nil, p.batchSeats[:0] }()
	err := p.svc.st.InTx(ctx, func(tx *store.Tx) error {
		p.batchTx, p.batchSeats = tx, p.batchSeats[:0]
		var items []*redeemItem
		for _, c := range calls {
			if c.redeem != nil {
				c.redeem.handled = false
				items = append(items, c.redeem)
			}
		}
		if !savepoints && len(items) > 1 {
			// Redeems of fresh users with unbound codes, placed together:
			// a handful of statements for the whole batch.
			if err := p.svc.redeemBulk(ctx, tx, ix, items); err != nil {
				p.svc.log.WarnContext(ctx, "set-wise redeem failed; the batch runs again call by call", "err", err)
				for _, it := range items {
					it.handled = false
				}
				return errCallFailed
			}
		}
		for _, c := range calls {
			if c.redeem != nil && c.redeem.handled {
				c.err = nil
				continue
			}
			if !savepoints {
				if c.err = c.fn(context.WithoutCancel(c.ctx), tx, ix); c.err != nil {
					if len(calls) == 1 {
						return c.err
					}
					return errCallFailed
				}
				continue
			}
			if err := tx.Savepoint(ctx); err != nil {
				return fmt.Errorf("placement batch: %w", err)
			}
			mark, seats := ix.Mark(), len(p.batchSeats)
			c.err = c.fn(context.WithoutCancel(c.ctx), tx, ix)
			if c.err == nil {
				if err := tx.ReleaseSavepoint(ctx); err != nil {
					return fmt.Errorf("placement batch: %w", err)
				}
				continue
			}
			ix.Undo(mark)
			p.batchSeats = p.batchSeats[:seats]
			if err := tx.RollbackToSavepoint(ctx); err != nil {
				return fmt.Errorf("placement batch: %w", err)
			}
		}
		return p.flushDeliveries(ctx, tx)
	})
	if err != nil {
		// Nothing committed: the index goes back to what it was.
		ix.Undo(begin)
	}
	return err
}

// settle gives the calls of a batch whose transaction ended with err their
// errors, and returns those to run again alone: the calls that met a
// transient database error (a deadlock between replicas' batches on
// PostgreSQL), or all of a batch whose commit met one.
func (p *placer) settle(calls []*placeCall, err error) map[*placeCall]bool {
	var retry map[*placeCall]bool
	for _, c := range calls {
		if c.err == nil && err != nil {
			c.err = err
		}
		if len(calls) > 1 && store.Transient(c.err) {
			if retry == nil {
				retry = map[*placeCall]bool{}
			}
			retry[c] = true
		}
	}
	return retry
}

// deliverLater records a seat made in the running batch, for the one
// delivery job the batch enqueues as it ends. Outside a batch of this
// placer the seat's job is enqueued at once.
func (p *placer) deliverLater(ctx context.Context, tx *store.Tx, seatID int64) error {
	if p.batchTx != tx {
		return p.svc.jobs.Deliver(ctx, tx, seatID)
	}
	p.batchSeats = append(p.batchSeats, seatID)
	return nil
}

// flushDeliveries enqueues the delivery of the batch's seats, in the
// batch's transaction.
func (p *placer) flushDeliveries(ctx context.Context, tx *store.Tx) error {
	if len(p.batchSeats) == 0 {
		return nil
	}
	if err := p.svc.jobs.DeliverMany(ctx, tx, p.batchSeats); err != nil {
		return fmt.Errorf("enqueue deliveries: %w", err)
	}
	return nil
}

// index returns the kind's index. p.mu held. The first use builds it here;
// afterwards a stale index (older than IndexTTL: other replicas may have
// changed the database) keeps serving while a fresh one is built in the
// background from the read pool without the lock, so placements never
// stall behind a rebuild (0.5–1.7 s at 100k pools). Placements committed
// meanwhile are missing from the fresh index; that only makes it think
// pools emptier, and the database guard refuses, upon which the index
// learns the truth.
func (p *placer) index(ctx context.Context) (*placement.Index, error) {
	if p.ix != nil {
		if time.Since(p.loadedAt) >= p.svc.IndexTTL && !p.refreshing {
			p.refreshing = true
			go p.refresh(p.epoch)
		}
		p.applyHealthChanges(p.ix)
		return p.ix, nil
	}
	ix, err := p.svc.buildIndex(ctx, p.kind, "first")
	if err != nil {
		return nil, err
	}
	p.ix, p.loadedAt = ix, time.Now()
	p.applyHealthChanges(ix)
	return ix, nil
}

// refresh rebuilds the index outside the lock and swaps it in.
func (p *placer) refresh(epoch int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ix, err := p.svc.buildIndex(ctx, p.kind, "refresh")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refreshing = false
	changed := p.refreshHealth
	p.refreshHealth = nil
	if err != nil {
		p.svc.log.Warn("placement index refresh failed; keeping the old one", "kind", p.kind, "err", err)
		p.loadedAt = time.Now() // retry after another TTL
		return
	}
	if p.ix != nil && p.epoch == epoch {
		p.ix, p.loadedAt = ix, time.Now()
		p.svc.applyHealthTo(ix, changed)
	}
}

// buildIndex reads the pools and affinity counts from the read pool and
// builds an index.
func (s *Service) buildIndex(ctx context.Context, kind model.Kind, cause string) (*placement.Index, error) {
	s.builds.Add(1)
	metrics.IndexBuilt(string(kind), cause)
	start := time.Now()
	q := s.st.Reader()
	pools, err := q.PoolList(ctx, kind)
	if err != nil {
		return nil, err
	}
	aff, err := q.PoolAffinity(ctx, kind)
	if err != nil {
		return nil, err
	}
	pp := make([]placement.Pool, len(pools))
	for i, p := range pools {
		pp[i] = toPlacementPool(p)
	}
	ix := placement.NewIndex(pp, aff)
	s.applyHealth(ix)
	level := slog.LevelDebug // the periodic refresh
	if cause == "first" {
		level = slog.LevelInfo
	}
	s.log.Log(ctx, level, "placement index built", "kind", kind, "cause", cause, "pools", len(pools), "took", time.Since(start).Round(time.Millisecond))
	return ix, nil
}

// PlacerCalls counts requests that reached a placer, the write path of
// placements (tests: a refused request never does).
func (s *Service) PlacerCalls() int64 { return s.calls.Load() }

// IndexBuilds counts placement index builds from the database, first uses
// and background refreshes (tests: a refused request costs none).
func (s *Service) IndexBuilds() int64 { return s.builds.Load() }

// Invalidate drops the cached indexes so the next use builds them anew
// (tests, admin tools). Errors never do this.
func (s *Service) Invalidate() {
	for _, p := range s.placers {
		p.mu.Lock()
		p.ix = nil
		p.epoch++
		p.mu.Unlock()
	}
}

// withIndexOnly runs fn on the kind's index, holding its lock, with no
// transaction; whatever fn changes in the index is undone afterwards (a
// dry run works on what amounts to a copy).
func (s *Service) withIndexOnly(ctx context.Context, kind model.Kind, fn func(ix *placement.Index) error) error {
	p, err := s.placerFor(kind)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ix, err := p.index(ctx)
	if err != nil {
		return err
	}
	mark := ix.Mark()
	defer ix.Forget()
	defer ix.Undo(mark)
	return fn(ix)
}

// PoolChanged refreshes one pool in its index after a committed change
// (pool administration, package pooladmin, calls it after each). A pool
// that is gone (deleted) leaves every index and the health book, so its
// score is not kept (nor shown in /metrics) until a restart. A failed read
// leaves the index as it is: the periodic refresh and the database guard
// correct it.
func (s *Service) PoolChanged(ctx context.Context, id int64) {
	pool, err := s.st.Reader().PoolGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.poolGone(id)
		return
	}
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.log.WarnContext(ctx, "placement index: could not read a changed pool; the next refresh will see it", "pool_id", id, "err", err)
		}
		return
	}
	p, err := s.placerFor(pool.Kind)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.ix != nil {
		p.ix.Upsert(toPlacementPool(pool))
	}
	p.mu.Unlock()
	s.drainIfWaiting(ctx, pool.Kind)
}

// poolGone forgets a deleted pool: its health score and its entry in
// whichever kind's index holds it (its kind can no longer be read).
func (s *Service) poolGone(id int64) {
	s.health.Forget(id)
	for _, p := range s.placers {
		p.mu.Lock()
		if p.ix != nil {
			p.ix.Remove(id)
		}
		p.mu.Unlock()
	}
}

// released updates the index after a seat stopped counting (committed).
func (s *Service) released(kind model.Kind, poolID int64, key string) {
	p, err := s.placerFor(kind)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.ix != nil {
		p.ix.Release(poolID, key)
	}
	p.mu.Unlock()
	s.drainIfWaiting(context.Background(), kind)
}

// drainIfWaiting enqueues a drain of kind's queue if anyone waits in it,
// once this process's index has taken in new room (released, PoolChanged).
// The transaction that made the room enqueued a drain only if someone
// waited then (jobs.Queue.DrainQueue: a drain job per release or pool
// change with nobody waiting was most of River's work while pools were
// added under a crowd, docs/bench.md §17). A placer that decided on the
// index before it took in the room may have queued a member since; the
// placer holds the index lock until its transaction ends, so once the
// index has the room that member is committed and is seen here. Another
// replica's placer learns of the room at its next refresh; a member it
// queues meanwhile is placed by the next drain or sweep (every minute).
// A failure is logged: the sweep drains every queue.
func (s *Service) drainIfWaiting(ctx context.Context, kind model.Kind) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	waiting, err := s.st.Reader().QueueWaiting(ctx, kind)
	if err == nil && waiting {
		err = s.st.InTx(ctx, func(tx *store.Tx) error { return s.jobs.DrainQueue(ctx, tx, kind) })
	}
	if err != nil {
		s.log.WarnContext(ctx, "queue drain not enqueued after new room; the sweep drains it", "kind", kind, "err", err)
	}
}
