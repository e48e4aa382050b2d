// Package alloc is berth's placement runtime: it turns placement decisions
// into durable state. It owns the in-memory placement index, the capacity
// guard transaction, the waiting queue, redeems, rebinds, moves and
// releases, and the one pool status transition (SetPoolStatus). Provider
// calls never happen here; alloc enqueues jobs (package jobs) in the same
// transaction as the state change that needs them. The administration of
// pools (package pooladmin) and of redeem codes (package codebook) sits
// beside it and calls it through small interfaces; alloc imports neither.
//
// Placements of each pool kind go through that kind's placer (placer.go):
// one index with its own lock, and group commit of concurrent requests.
// Lock order: nobody waits for a placer while holding a database
// transaction. On SQLite the write pool has one connection, so that could
// deadlock against a batch that holds the index and waits for the
// connection.
package alloc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berthhq/berth/internal/crashpoint"
	"github.com/berthhq/berth/internal/health"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/store"
)

// Enqueuer writes durable jobs inside a store transaction.
type Enqueuer interface {
	// Deliver puts a seat's member into its pool.
	Deliver(ctx context.Context, tx *store.Tx, seatID int64) error
	// DeliverMany puts the members of many new seats into their pools: the
	// seats a placement batch made, delivered by one job.
	DeliverMany(ctx context.Context, tx *store.Tx, seatIDs []int64) error
	// Remove takes a releasing seat's member out of its pool.
	Remove(ctx context.Context, tx *store.Tx, seatID int64) error
	// DrainQueue places waiting members of a kind once room may exist.
	DrainQueue(ctx context.Context, tx *store.Tx, kind model.Kind) error
}

// Service allocates members to pools.
type Service struct {
	st   *store.Store
	jobs Enqueuer
	log  *slog.Logger

	// placers: one per pool kind, each owning its kind's index (placer.go).
	placers map[model.Kind]*placer
	// health scores the pools from their provider outcomes (health.go).
	health *health.Book
	builds atomic.Int64 // index builds from the database
	calls  atomic.Int64 // requests that reached a placer
	// bulkRedeems counts redeems placed set-wise (redeem_bulk.go).
	bulkRedeems atomic.Int64
	// strategies caches the stored strategies (strategy.go).
	strategies strategyCache
	// IndexTTL bounds how stale the index may get when other replicas change
	// the database; the database guard stays the authority either way.
	IndexTTL time.Duration
	// FailedPoolWindow: a pool that refused a member outright
	// (member-permanent) is excluded for that member this long; then a
	// queue drain tries it again. Retryable failures exclude nothing, and
	// a pool-permanent one excludes the pool for everyone through its
	// status (credential_invalid) until an admin fixes it.
	FailedPoolWindow time.Duration
}

// New returns a Service.
func New(st *store.Store, jobs Enqueuer, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{st: st, jobs: jobs, log: log, placers: map[model.Kind]*placer{}, health: health.NewBook(health.Config{}),
		IndexTTL: 30 * time.Second, FailedPoolWindow: time.Hour}
	for _, k := range model.Kinds() {
		s.placers[k] = newPlacer(s, k)
	}
	return s
}

// SetEnqueuer wires the job queue (it needs the Service for its workers).
func (s *Service) SetEnqueuer(e Enqueuer) { s.jobs = e }

// Store returns the service's store.
func (s *Service) Store() *store.Store { return s.st }

func toPlacementPool(p model.Pool) placement.Pool {
	return placement.Pool{ID: p.ID, Name: p.Name, Kind: p.Kind, Capacity: p.Capacity, Used: p.Used,
		Status: p.Status, Labels: p.Labels, Priority: p.Priority, Weight: p.Weight}
}

// Outcome is the result of placing one member.
type Outcome struct {
	Member   model.Member
	Status   string // placed | queued | rejected
	Pool     string
	SeatID   int64
	Position int
	Reason   string
	// Why is Reason as data (placed or queued by placement); nil otherwise.
	Why *model.Why
	// WouldFit: for a member queued by placement, the single changes that
	// would place it now, cheapest first (placement.Index.WouldFit).
	WouldFit []model.FitChange
}

// Outcome statuses.
const (
	OutcomePlaced   = "placed"
	OutcomeQueued   = "queued"
	OutcomeRejected = "rejected"
)

// placeReq describes one placement inside a transaction.
type placeReq struct {
	member   model.Member
	strategy placement.Strategy
	exclude  []int64
	moveFrom int64 // seat being left (moves), 0 for new members
	codeID   int64 // the redeem code the seat rests on (teams)
	actor    string
	// queueOnMiss: false when draining the queue (the member stays where it is).
	queueOnMiss bool
	// fresh: the member was just claimed from pending, so it is in no queue.
	fresh bool
	// history: the caller's rows, written with the placement's own in one
	// statement.
	history []model.HistoryEntry
	// excludedUntil: when the last exclusion from recentFailures lapses
	// (zero: none), said in the reason of a queued member.
	excludedUntil time.Time
}

// maxGuardRetries bounds how many candidates one placement tries after the
// database refused the index's choice (lost races with other replicas).
// Each refusal teaches the index that pool's truth, and the first one (and
// every eighth) re-reads all the kind's counts (recount), so running out
// takes replicas racing hard for the same last seats; the member is then
// queued with a drain enqueued, not left waiting for a release. (With 8
// and no recount, the two-replica benchmark queued members while 992 of
// 1000 pools had room.)
const maxGuardRetries = 64

// placeTx places one member inside tx: the index proposes, PoolReserve (the
// database guard) decides, and on a lost race the next candidate is tried.
// It updates the index as it goes; the placer undoes that from the
// journal if tx (or the call's savepoint) rolls back. Runs in a placer's
// batch.
func (s *Service) placeTx(ctx context.Context, tx *store.Tx, ix *placement.Index, r placeReq) (Outcome, error) {
	m := r.member
	p, err := s.placerFor(m.Kind)
	if err != nil {
		return Outcome{}, err
	}
	req := placement.Request{Kind: m.Kind, AffinityKey: m.AffinityKey, Labels: m.Labels, Exclude: r.exclude, Strategy: r.strategy}
	if req.Strategy == "" {
		// The stored strategy of the member's kind and group (strategy.go),
		// so a queued or moved member is placed as it was at first.
		if req.Strategy, err = s.storedStrategy(ctx, &tx.Queries, m.Kind, m.Labels); err != nil {
			return Outcome{}, err
		}
	}
	var leaving []model.Seat
	if !r.fresh {
		// Never back into a pool where the member is still being taken out:
		// the late removal would take the new copy too (found by the
		// torture harness: a move back to a team whose removal job ran late).
		if leaving, err = tx.SeatList(ctx, store.SeatFilter{MemberID: m.ID, States: []model.SeatState{model.SeatReleasing, model.SeatReleaseFailed}, Limit: 50}); err != nil {
			return Outcome{}, err
		}
		for _, seat := range leaving {
			req.Exclude = append(req.Exclude, seat.PoolID)
		}
	}
	var old model.Seat
	if r.moveFrom != 0 {
		var err error
		if old, err = tx.SeatGet(ctx, r.moveFrom); err != nil {
			return Outcome{}, err
		}
		if r.codeID == 0 {
			r.codeID = old.CodeID // the new seat rests on the same code
		}
		// Defence in depth: a move that already has a live target is
		// under way; never make a second target.
		if mv, err := tx.MovePending(ctx, r.moveFrom); err == nil && mv.ToSeat != 0 {
			if target, err := tx.SeatGet(ctx, mv.ToSeat); err == nil && target.State.Live() {
				return Outcome{Member: m, Status: OutcomePlaced, Pool: target.Pool, SeatID: target.ID, Reason: "move already under way"}, tx.HistoryAddMany(ctx, r.history...)
			}
		}
	} else if !r.fresh {
		// A member who already holds a live seat gets no second one.
		if seat, err := tx.SeatLive(ctx, m.ID); err == nil {
			if _, err := tx.QueueRemove(ctx, m.ID); err != nil {
				return Outcome{}, err
			}
			return Outcome{Member: m, Status: OutcomePlaced, Pool: seat.Pool, SeatID: seat.ID, Reason: "already placed"}, tx.HistoryAddMany(ctx, r.history...)
		} else if !errors.Is(err, store.ErrNotFound) {
			return Outcome{}, err
		}
	}
	var d placement.Decision
	synced := false
	for try := 0; ; try++ {
		d = metrics.TimePlace(ix.Place, req)
		if d.Pool == nil && !synced && time.Since(p.syncedAt) >= syncRoomEvery {
			// No room by the index: make sure the database agrees.
			synced = true
			gained, err := s.syncRoom(ctx, tx, ix, p)
			if err != nil {
				return Outcome{}, err
			}
			if gained > 0 {
				d = metrics.TimePlace(ix.Place, req)
			}
		}
		if d.Pool == nil || try >= maxGuardRetries {
			break
		}
		ok, err := tx.PoolReserve(ctx, d.Pool.ID)
		if err != nil {
			return Outcome{}, err
		}
		if !ok {
			// Another request or replica took the room (or the status
			// changed): learn the truth (every pool's, or this one's) and
			// try the next candidate.
			if time.Since(p.recountedAt) >= recountEvery || try%8 == 7 {
				if _, err := s.recount(ctx, tx, ix, p); err != nil {
					return Outcome{}, err
				}
			} else {
				fresh, err := tx.PoolGet(ctx, d.Pool.ID)
				if err != nil {
					return Outcome{}, err
				}
				ix.Upsert(toPlacementPool(fresh))
			}
			ix.MarkFull(d.Pool.ID)
			continue
		}
		crashpoint.Hit("place.after-reserve")
		seatID, err := tx.SeatCreate(ctx, m.ID, d.Pool.ID, model.SeatProvisioning, r.moveFrom, r.codeID)
		if err != nil {
			return Outcome{}, err
		}
		if err := p.deliverLater(ctx, tx, seatID); err != nil {
			return Outcome{}, fmt.Errorf("enqueue delivery: %w", err)
		}
		if _, err := tx.MemberSetState(ctx, m.ID, model.MemberPlaced, ""); err != nil {
			return Outcome{}, err
		}
		if !r.fresh {
			if _, err := tx.QueueRemove(ctx, m.ID); err != nil {
				return Outcome{}, err
			}
		}
		reason, why := d.Explanation.String(), d.Explanation.Why()
		h := model.HistoryEntry{Member: m.ExternalID, Pool: d.Pool.Name, Action: model.ActPlaced, To: d.Pool.Name, Reason: reason, Why: &why, Actor: r.actor, CodeID: r.codeID}
		if r.moveFrom != 0 {
			h.Action, h.From = model.ActMoveStarted, old.Pool
			if err := s.moveTarget(ctx, tx, r.moveFrom, seatID); err != nil {
				return Outcome{}, err
			}
		}
		if err := tx.HistoryAddMany(ctx, append(r.history, h)...); err != nil {
			return Outcome{}, err
		}
		ix.Commit(d.Pool.ID, m.AffinityKey)
		m.State = model.MemberPlaced
		return Outcome{Member: m, Status: OutcomePlaced, Pool: d.Pool.Name, SeatID: seatID, Reason: reason, Why: &why}, nil
	}
	reason := d.Explanation.Summary()
	why := queuedWhy(d.Explanation)
	wouldFit := ix.WouldFit(req, 0)
	contended := d.Pool != nil // room, but other replicas kept taking it
	if contended {
		reason = fmt.Sprintf("the database refused %d pools in a row (other replicas placing): %s", maxGuardRetries, reason)
		why.Contended = maxGuardRetries
	}
	if !contended && len(leaving) > 0 && d.Explanation.Filtered[placement.ReasonExcluded] > 0 {
		// Would a pool the member is still being taken out of have taken
		// them? Then they wait for that removal, not for room: say so (the
		// removal's end drains the queue, ReleasedNoted).
		again := req
		again.Exclude = r.exclude
		if d2 := ix.Place(again); d2.Pool != nil && slices.ContainsFunc(leaving, func(s model.Seat) bool { return s.PoolID == d2.Pool.ID }) {
			why.Removing = d2.Pool.Name
			reason += "; waiting for the member's removal from " + d2.Pool.Name + " to finish"
		}
	}
	if !r.excludedUntil.IsZero() && d.Explanation.Filtered[placement.ReasonExcluded] > 0 {
		reason += fmt.Sprintf(" (a pool that refused the member is excluded until %s)", r.excludedUntil.UTC().Format("2006-01-02 15:04 MST"))
		why.ExcludedUntil = r.excludedUntil.UTC().Truncate(time.Minute)
	}
	if !r.queueOnMiss {
		return Outcome{Member: m, Status: OutcomeQueued, Reason: reason, Why: &why, WouldFit: wouldFit}, nil
	}
	pos, err := tx.QueuePush(ctx, model.QueueEntry{MemberID: m.ID, Kind: m.Kind, IsMove: r.moveFrom != 0, FromSeat: r.moveFrom, Reason: reason, Why: &why})
	if err != nil {
		return Outcome{}, err
	}
	if r.moveFrom == 0 { // a member waiting to move keeps its seat meanwhile
		if _, err := tx.MemberSetStateWhy(ctx, m.ID, model.MemberQueued, reason, &why); err != nil {
			return Outcome{}, err
		}
	}
	if err := tx.HistoryAddMany(ctx, append(r.history, model.HistoryEntry{Member: m.ExternalID, Action: model.ActQueued, Reason: reason, Why: &why, Actor: r.actor})...); err != nil {
		return Outcome{}, err
	}
	if contended {
		// Room exists: drain soon rather than wait for a release.
		if err := s.jobs.DrainQueue(ctx, tx, m.Kind); err != nil {
			return Outcome{}, err
		}
	}
	m.State = model.MemberQueued
	return Outcome{Member: m, Status: OutcomeQueued, Position: pos, Reason: reason, Why: &why, WouldFit: wouldFit}, nil
}

// queuedWhy is the data of a queued member's reason: the counts by cause
// (Explanation.Summary), without a chosen pool.
func queuedWhy(e placement.Explanation) model.Why {
	w := e.Why()
	w.Pool, w.Used, w.Capacity, w.Rule = "", 0, 0, ""
	return w
}

// syncRoomLimit bounds how many pools with room syncRoom reads.
const syncRoomLimit = 1000

// syncRoomEvery: a placement that finds no room checks the index against
// the database at most this often per kind (a full fleet makes every
// placement miss; one query a second is enough to notice room).
const syncRoomEvery = time.Second

// syncRoom makes the index see the room the database has. In p's batch,
// inside tx. The index can be fuller than the truth: a release committed by
// another replica, a background rebuild that read the pools just before a
// release, a release whose index update comes after the drain job it
// enqueued already ran. Placing from such an index would queue members
// while a pool has room, and a drain would leave them waiting (found by the
// storm test: 114 queued, a team with a free seat, berth quiet). It returns
// how many pools gained room in the index.
func (s *Service) syncRoom(ctx context.Context, tx *store.Tx, ix *placement.Index, p *placer) (int, error) {
	p.syncedAt = time.Now()
	pools, err := tx.PoolsWithRoom(ctx, p.kind, syncRoomLimit)
	if err != nil {
		return 0, err
	}
	gained := 0
	for _, pool := range pools {
		if ix.Room(pool.ID) >= pool.Capacity-pool.Used {
			continue
		}
		// A known pool gets its counts, as recount would; a pool another
		// replica created is added whole.
		if !ix.Recount(pool.ID, pool.Used, pool.Capacity, pool.Status) {
			ix.Upsert(toPlacementPool(pool))
		}
		gained++
	}
	return gained, nil
}

// recountEvery: a placement whose pool the database refused re-reads the
// kind's pool counts at most this often (one narrow scan: ~1 ms at 1k
// pools, tens of ms at 100k).
const recountEvery = time.Second

// recount makes the index's counts and statuses those of the database, for
// every pool of the kind. In p's batch, inside tx. The guard refusing a pool
// means another replica has been placing since this index last looked;
// learning one pool per refusal is not enough when it filled many (found by
// the two-replica benchmark: members queued with 992 of 1000 pools open,
// after 8 refusals in a row). It returns how many pools changed.
func (s *Service) recount(ctx context.Context, tx *store.Tx, ix *placement.Index, p *placer) (int, error) {
	p.recountedAt = time.Now()
	counts, err := tx.PoolLoads(ctx, p.kind)
	if err != nil {
		return 0, err
	}
	changed := 0
	for _, c := range counts {
		if ix.Recount(c.ID, c.Used, c.Capacity, c.Status) {
			changed++
		}
	}
	return changed, nil
}

// memberRefusal prefixes the last error of a seat a pool refused
// member-permanently (DeliveryFailed writes it so): such a seat excludes
// its pool for the member until FailedPoolWindow has passed.
var memberRefusal = provider.MemberPermanent.String() + ": "

// recentFailures lists the pools excluded for the member now: those that
// refused it member-permanently within FailedPoolWindow. Each exclusion
// lapses on its own (issue 11, finding 9: a retryable failure used to
// exclude the team for an hour, and a member whose only team it was
// stayed queued beside 41 free seats).
func (s *Service) recentFailures(ctx context.Context, q *store.Queries, memberID int64) ([]int64, error) {
	ids, _, err := s.exclusions(ctx, q, memberID)
	return ids, err
}

// exclusions is recentFailures with the time the last of them lapses.
func (s *Service) exclusions(ctx context.Context, q *store.Queries, memberID int64) (ids []int64, until time.Time, err error) {
	seats, err := q.SeatList(ctx, store.SeatFilter{MemberID: memberID, States: []model.SeatState{model.SeatFailed}, Limit: 50})
	if err != nil {
		return nil, until, err
	}
	cutoff := q.Now().Add(-s.FailedPoolWindow)
	for _, seat := range seats {
		if strings.HasPrefix(seat.LastError, memberRefusal) && seat.UpdatedAt.After(cutoff) {
			ids = append(ids, seat.PoolID)
			if end := seat.UpdatedAt.Add(s.FailedPoolWindow); end.After(until) {
				until = end
			}
		}
	}
	return ids, until, nil
}

// elsewhere tells whether a pool of the member's kind and labels exists
// beyond those in exclude (whatever its room or status now): a member
// refused by its pool waits for such a pool rather than being rejected.
func (s *Service) elsewhere(ctx context.Context, q *store.Queries, m model.Member, exclude []int64) (bool, error) {
	pools, err := q.PoolList(ctx, m.Kind)
	if err != nil {
		return false, err
	}
	for _, p := range pools {
		if slices.Contains(exclude, p.ID) {
			continue
		}
		if placement.Accepts(p.Labels, m.Labels) { // labels and group isolation
			return true, nil
		}
	}
	return false, nil
}

// ErrInvalid marks a request the caller must fix.
var ErrInvalid = errors.New("invalid request")

// Invalidf returns an ErrInvalid (KindInvalid) error saying what to fix;
// the packages beside the runtime (pooladmin, codebook) refuse with it too.
func Invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
