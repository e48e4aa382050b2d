// Package integrity checks the invariants of docs/design.md against the database
// and repairs orphans.
//
// Check reports:
//   - orphans: members holding more live seats (reserved, provisioning,
//     active) than their pending moves explain, for longer than a grace
//     period (invariant 2);
//   - overbooked pools: more used or counted seats than capacity
//     (invariant 1);
//   - zombie moves: moves pending for too long;
//   - drift: a pool's used that differs from its counted seats, and a
//     code's used_count or rebind_count that differs from its history
//     (invariant 3).
//
// Every finding is computed by an aggregate query in the store; only the
// rows that break an invariant come back, so a check is cheap on large
// databases. Repair releases the extra seats of orphans, a bounded number
// at a time, through the allocation service.
package integrity

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// Defaults of Options.
const (
	DefaultGrace       = 10 * time.Minute
	DefaultZombieAfter = 30 * time.Minute
	// DefaultLimit bounds each list of a report.
	DefaultLimit = 1000
	// MaxRepair is the most seat releases one Repair may do.
	MaxRepair = 1000
)

// Options tune a check; zero values take the defaults.
type Options struct {
	// Grace is how long a member may hold extra live seats before it is
	// an orphan (a placement and its cleanup may briefly overlap).
	Grace time.Duration
	// ZombieAfter is how long a move may stay pending before it is reported.
	ZombieAfter time.Duration
	// Limit bounds each list of the report (default 1000); Report.Truncated
	// tells when a list was cut.
	Limit int
}

func (o Options) withDefaults() Options {
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.ZombieAfter <= 0 {
		o.ZombieAfter = DefaultZombieAfter
	}
	if o.Limit <= 0 {
		o.Limit = DefaultLimit
	}
	return o
}

// Report is the result of a check. Every list is empty (never null) when
// nothing is wrong.
type Report struct {
	Orphans     []Orphan     `json:"orphans"`
	Overbooked  []Overbooked `json:"overbooked"`
	ZombieMoves []model.Move `json:"zombie_moves"`
	Drift       []Drift      `json:"drift"`
	CheckedAt   time.Time    `json:"checked_at"`
	// Truncated is true when a list has more entries than Options.Limit;
	// the rest are left out.
	Truncated bool `json:"truncated"`
}

// Clean reports whether the check found nothing.
func (r Report) Clean() bool {
	return len(r.Orphans) == 0 && len(r.Overbooked) == 0 && len(r.ZombieMoves) == 0 && len(r.Drift) == 0
}

// Orphan is a member holding more live seats than an in-flight move explains.
type Orphan struct {
	Member   string     `json:"member"`
	MemberID int64      `json:"member_id"`
	Kind     model.Kind `json:"kind"`
	// Seats are all the member's live seats, newest first.
	Seats []OrphanSeat `json:"seats"`
}

// OrphanSeat is one live seat of an orphan.
type OrphanSeat struct {
	SeatID     int64            `json:"seat_id"`
	PoolID     int64            `json:"pool_id"`
	Pool       string           `json:"pool"`
	PoolStatus model.PoolStatus `json:"pool_status"`
	State      model.SeatState  `json:"state"`
	// MoveFrom is the seat this one replaces, when it was placed by a move.
	MoveFrom  int64     `json:"move_from,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Overbooked is a pool holding more than its capacity.
type Overbooked struct {
	Pool   string `json:"pool"`
	PoolID int64  `json:"pool_id"`
	// Used is the pool's recorded use; Counted its seats that count
	// against capacity.
	Used     int `json:"used"`
	Counted  int `json:"counted"`
	Capacity int `json:"capacity"`
}

// Drift kinds.
const (
	DriftPoolUsed   = "pool_used"
	DriftCodeUsed   = "code_used"
	DriftCodeRebind = "code_rebind"
)

// Drift is a recorded counter that disagrees with what it is derived from.
type Drift struct {
	// Kind is pool_used (pools.used vs counted seats), code_used
	// (used_count vs code.used - code.refunded history) or code_rebind
	// (rebind_count vs rebind.charged - rebind.refunded history).
	Kind     string `json:"kind"`
	Pool     string `json:"pool,omitempty"`
	PoolID   int64  `json:"pool_id,omitempty"`
	CodeID   int64  `json:"code_id,omitempty"`
	Recorded int    `json:"recorded"`
	Derived  int    `json:"derived"`
}

// Check runs every check against q. The clock is q.Now().
func Check(ctx context.Context, q *store.Queries, opts Options) (Report, error) {
	opts = opts.withDefaults()
	now := q.Now()
	rep := Report{Orphans: []Orphan{}, Overbooked: []Overbooked{}, ZombieMoves: []model.Move{}, Drift: []Drift{}, CheckedAt: now}

	var err error
	if rep.Orphans, err = orphans(ctx, q, now.Add(-opts.Grace), opts.Limit, &rep.Truncated); err != nil {
		return rep, fmt.Errorf("orphans: %w", err)
	}

	pools, err := q.PoolCountsWrong(ctx, opts.Limit+1)
	if err != nil {
		return rep, fmt.Errorf("pool counts: %w", err)
	}
	pools = capped(pools, opts.Limit, &rep.Truncated)
	for _, p := range pools {
		if p.Used > p.Capacity || p.Counted > p.Capacity {
			rep.Overbooked = append(rep.Overbooked, Overbooked{Pool: p.Pool, PoolID: p.PoolID, Used: p.Used, Counted: p.Counted, Capacity: p.Capacity})
		}
		if p.Used != p.Counted {
			rep.Drift = append(rep.Drift, Drift{Kind: DriftPoolUsed, Pool: p.Pool, PoolID: p.PoolID, Recorded: p.Used, Derived: p.Counted})
		}
	}

	moves, err := q.ZombieMoves(ctx, now.Add(-opts.ZombieAfter), opts.Limit+1)
	if err != nil {
		return rep, fmt.Errorf("zombie moves: %w", err)
	}
	moves = capped(moves, opts.Limit, &rep.Truncated)
	rep.ZombieMoves = append(rep.ZombieMoves, moves...)

	codes, err := q.CodeCountsWrong(ctx, opts.Limit+1)
	if err != nil {
		return rep, fmt.Errorf("code counts: %w", err)
	}
	codes = capped(codes, opts.Limit, &rep.Truncated)
	for _, c := range codes {
		if c.UsedCount != c.UsedDerived {
			rep.Drift = append(rep.Drift, Drift{Kind: DriftCodeUsed, CodeID: c.CodeID, Recorded: c.UsedCount, Derived: c.UsedDerived})
		}
		if c.RebindCount != c.RebindDerived {
			rep.Drift = append(rep.Drift, Drift{Kind: DriftCodeRebind, CodeID: c.CodeID, Recorded: c.RebindCount, Derived: c.RebindDerived})
		}
	}
	return rep, nil
}

// capped cuts list, read with a limit one higher, to limit entries and
// notes in truncated that it did.
func capped[T any](list []T, limit int, truncated *bool) []T {
	if len(list) > limit {
		list, *truncated = list[:limit], true
	}
	return list
}

// orphans finds the orphans whose newest live seat is older than before.
func orphans(ctx context.Context, q *store.Queries, before time.Time, limit int, truncated *bool) ([]Orphan, error) {
	ids, err := q.OrphanMembers(ctx, before, limit+1)
	if err != nil {
		return nil, err
	}
	ids = capped(ids, limit, truncated)
	seats, err := q.LiveSeatsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []Orphan{}
	for _, group := range byMember(seats) {
		// The seats were read after the member was found: keep only those
		// that are still orphans.
		if !isOrphan(group) {
			continue
		}
		out = append(out, toOrphan(group))
	}
	return out, nil
}

// byMember splits seats sorted by member into one slice per member.
func byMember(seats []store.LiveSeat) [][]store.LiveSeat {
	var out [][]store.LiveSeat
	for i := 0; i < len(seats); {
		j := i + 1
		for j < len(seats) && seats[j].MemberID == seats[i].MemberID {
			j++
		}
		out = append(out, seats[i:j])
		i = j
	}
	return out
}

// isOrphan applies the rule of store.OrphanMembers to one member's live
// seats: more than one seat beyond those explained by distinct pending moves.
func isOrphan(seats []store.LiveSeat) bool {
	moves := map[int64]bool{}
	for _, s := range seats {
		if s.MoveID != 0 {
			moves[s.MoveID] = true
		}
	}
	return len(seats)-len(moves) >= 2
}

func toOrphan(seats []store.LiveSeat) Orphan {
	o := Orphan{Member: seats[0].Member, MemberID: seats[0].MemberID, Kind: seats[0].Kind, Seats: make([]OrphanSeat, len(seats))}
	for i, s := range seats {
		o.Seats[i] = OrphanSeat{SeatID: s.ID, PoolID: s.PoolID, Pool: s.Pool, PoolStatus: s.PoolStatus, State: s.State,
			MoveFrom: s.MoveFrom, CreatedAt: s.CreatedAt}
	}
	return o
}

// Releaser starts releasing a live seat inside the caller's transaction;
// alloc.Service is one.
type Releaser interface {
	ReleaseTx(ctx context.Context, tx *store.Tx, seatID int64, actor string) error
}

// ErrLimit is returned for a repair limit outside 1..MaxRepair.
var ErrLimit = errors.New("limit must be between 1 and " + strconv.Itoa(MaxRepair) + " seat releases")

// RepairResult says what a repair did.
type RepairResult struct {
	// Released counts the seats whose release started.
	Released int `json:"released"`
	// Kept lists the seat kept for each orphan repaired.
	Kept []int64 `json:"kept"`
	// Skipped counts the seats left live because the limit was reached;
	// run the repair again for them.
	Skipped int `json:"skipped"`
	// Changed counts the orphans left alone because their seats changed
	// since the check (no longer an orphan, or a new live seat).
	Changed int `json:"changed"`
	// Errors has one line per seat whose release failed.
	Errors []string `json:"errors"`
}

// Repair releases the extra seats of the orphans in report, starting at
// most limit releases (1..MaxRepair) through rel. For each orphan it keeps
// the newest live seat in an active pool (else the newest live seat) and
// releases the others, after reading the member's seats again: an orphan
// that has changed since the check is left alone. Each orphan is repaired
// in one transaction of st: its seats read again, the releases started and
// the orphan.repaired history row naming the kept seat written together, so
// a release that fails leaves that orphan as it was (reported in Errors)
// and the others go on.
func Repair(ctx context.Context, st *store.Store, rel Releaser, report Report, limit int, actor string) (RepairResult, error) {
	res := RepairResult{Kept: []int64{}, Errors: []string{}}
	if limit <= 0 || limit > MaxRepair {
		return res, fmt.Errorf("%w, got %d", ErrLimit, limit)
	}
	if actor == "" {
		actor = "system"
	}
	budget := limit
	for _, o := range report.Orphans {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if budget == 0 {
			res.Skipped += len(o.Seats) - 1
			continue
		}
		var (
			changed  bool
			keep     store.LiveSeat
			released []string
			skipped  int
			failed   string
		)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			changed, released, skipped, failed = false, nil, 0, ""
			seats, err := tx.LiveSeatsOf(ctx, []int64{o.MemberID})
			if err != nil {
				return fmt.Errorf("re-read seats of %s: %w", o.Member, err)
			}
			if !isOrphan(seats) || !subsetOf(seats, o.Seats) {
				changed = true
				return nil
			}
			keep = keeper(seats)
			n := budget
			for _, s := range seats {
				if s.ID == keep.ID {
					continue
				}
				if n == 0 {
					skipped++
					continue
				}
				n--
				if err := rel.ReleaseTx(ctx, tx, s.ID, actor); err != nil {
					failed = fmt.Sprintf("seat %d on %s", s.ID, s.Pool)
					return err
				}
				released = append(released, fmt.Sprintf("%d (%s)", s.ID, s.Pool))
			}
			reason := fmt.Sprintf("orphan: kept seat %d (%s, pool %s); released %s", keep.ID, keep.State, keep.PoolStatus, strings.Join(released, ", "))
			return tx.HistoryAdd(ctx, model.HistoryEntry{Member: o.Member, Pool: keep.Pool, Action: model.ActOrphanRepaired,
				Reason: reason, Actor: actor})
		})
		switch {
		case err != nil && ctx.Err() != nil:
			return res, ctx.Err()
		case err != nil && failed == "":
			return res, err // reading or writing history failed: the database, not the seat
		case err != nil:
			budget--
			res.Errors = append(res.Errors, fmt.Sprintf("member %s: %s: %v (nothing of this member changed)", o.Member, failed, err))
		case changed:
			res.Changed++
		default:
			budget -= len(released)
			res.Released += len(released)
			res.Skipped += skipped
			res.Kept = append(res.Kept, keep.ID)
		}
	}
	return res, nil
}

// keeper picks the seat an orphan keeps: the newest live seat in an active
// pool, else the newest live seat. seats are newest first.
func keeper(seats []store.LiveSeat) store.LiveSeat {
	for _, s := range seats {
		if s.PoolStatus == model.StatusActive {
			return s
		}
	}
	return seats[0]
}

// subsetOf reports whether every seat is one the report listed: a seat
// placed since the check means the decision must be made again.
func subsetOf(seats []store.LiveSeat, reported []OrphanSeat) bool {
	known := make(map[int64]bool, len(reported))
	for _, s := range reported {
		known[s.SeatID] = true
	}
	for _, s := range seats {
		if !known[s.ID] {
			return false
		}
	}
	return true
}
