// Package plans is "plan, then apply" for the operator's dangerous
// actions: a plan reads the state once, says the steps an action would
// take (a pool's status from → to, a member moved off a seat to a pool, an
// orphan's extra seat released) and stores them with what it read (the
// preconditions); applying it later takes exactly those steps, or refuses
// with ErrChanged naming what changed since (a pool's status, a member
// already moved), or with ErrExpired once the plan is older than its TTL.
// A plan is applied at most once: the apply claims the stored row in its
// transaction.
//
// The actions are a table (Register): pools.status, pools.drain, migrate
// and integrity.repair are here (actions.go); a new one (the rebalancer)
// adds a Planner that drafts steps of the ops below, and applying is
// shared. Like pooladmin and codebook, the package places nobody: it
// reaches the placement runtime (package alloc) through Runtime, and
// refuses with alloc's error vocabulary.
//
// What is atomic: the claim, the precondition check, the pool.status and
// release steps run in one transaction, so pools.status and
// integrity.repair apply all or nothing. Move steps cannot join it (a
// placement takes the placer's lock, and nobody waits for a placer while
// holding a transaction: see package alloc), so they run after that
// transaction commits, one placement transaction each; a seat that changed
// in between fails its step alone (reported in the result), the others go
// on.
package plans

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// DefaultTTL is how long a plan may be applied after it was made
// (BERTH_PLAN_TTL changes it).
const DefaultTTL = 15 * time.Minute

// Runtime is what plans need of the placement runtime; *alloc.Service
// implements it.
type Runtime interface {
	// SetPoolStatusTx changes a pool's status in tx if it is expect.
	SetPoolStatusTx(ctx context.Context, tx *store.Tx, id int64, st model.PoolStatus, message, actor string, expect model.PoolStatus) (bool, error)
	// PoolStatusChanged follows a committed status change.
	PoolStatusChanged(ctx context.Context, id int64, st model.PoolStatus, message, actor string)
	// ReleaseTx starts releasing a live seat in tx.
	ReleaseTx(ctx context.Context, tx *store.Tx, seatID int64, actor string) error
	// MoveSeatWithin moves a seat's member, make before break, to a pool
	// outside exclude; pinned refuses rather than queues.
	MoveSeatWithin(ctx context.Context, seatID int64, exclude []int64, pinned bool, reason, actor string) (alloc.Outcome, error)
	// Migrate with dryRun says where each member of the from pools would
	// go now, writing nothing.
	Migrate(ctx context.Context, from []string, to string, dryRun bool, actor string) (alloc.MigrationResult, error)
}

// Step ops.
const (
	// OpPoolStatus sets pool PoolID's status From → To.
	OpPoolStatus = "pool.status"
	// OpMove moves Member off SeatID (on Pool) to the pool To, make before
	// break; To empty: no pool had room when planned, the member waits in
	// the queue as a move, outside Exclude.
	OpMove = "move"
	// OpRelease releases Member's extra seat SeatID (on Pool), keeping
	// KeepSeatID (integrity repair of an orphan).
	OpRelease = "release"
	// OpPacedMove moves Member off SeatID (on Pool) to the pool To, make
	// before break, later: applying the plan schedules it, and the paced
	// job (RunPaced, the rebalance_step job) runs a few a minute, each
	// after checking again that the member is still on Pool and both
	// pools are active (rebalance.go).
	OpPacedMove = "move.paced"
)

// Step is one thing a plan does.
type Step struct {
	Op       string `json:"op"`
	PoolID   int64  `json:"pool_id,omitempty"`
	Pool     string `json:"pool,omitempty"`
	Member   string `json:"member,omitempty"`
	MemberID int64  `json:"member_id,omitempty"`
	SeatID   int64  `json:"seat_id,omitempty"`
	// From and To are statuses for pool.status; To is the target pool's
	// name for move (empty: queued).
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	ToID       int64  `json:"to_id,omitempty"`
	KeepSeatID int64  `json:"keep_seat_id,omitempty"`
	// Exclude are the pools a move without a target must avoid.
	Exclude []int64 `json:"exclude,omitempty"`
	Message string  `json:"message,omitempty"`
	// Reason is why the step is planned (placement's explanation of a
	// move's target).
	Reason string `json:"reason,omitempty"`
	// Why is a move's Reason as data (placement's), for any language.
	Why *model.Why `json:"why,omitempty"`
}

// Precondition kinds: what a plan read and rests on.
const (
	// PrePoolStatus: pool PoolID still has Status.
	PrePoolStatus = "pool.status"
	// PrePoolRoom: pool PoolID still has at least Free free seats.
	PrePoolRoom = "pool.room"
	// PreSeat: Member's seat SeatID is still live on pool PoolID with no
	// move under way.
	PreSeat = "seat"
	// PreMemberSeats: Member's live seats are still exactly Seats.
	PreMemberSeats = "member.seats"
)

// Precondition is one fact a plan read.
type Precondition struct {
	Kind     string  `json:"kind"`
	PoolID   int64   `json:"pool_id,omitempty"`
	Pool     string  `json:"pool,omitempty"`
	Status   string  `json:"status,omitempty"`
	Free     int     `json:"free,omitempty"`
	Member   string  `json:"member,omitempty"`
	MemberID int64   `json:"member_id,omitempty"`
	SeatID   int64   `json:"seat_id,omitempty"`
	Seats    []int64 `json:"seats,omitempty"`
}

// Plan states.
const (
	StateOpen    = "open"    // may be applied until ExpiresAt
	StateApplied = "applied" // applied (Result says what happened)
	StateExpired = "expired" // not applied in time
)

// Plan is a stored plan as the API shows it.
type Plan struct {
	ID            int64           `json:"id"`
	Action        string          `json:"action"`
	Params        json.RawMessage `json:"params"`
	Steps         []Step          `json:"steps"`
	Preconditions []Precondition  `json:"preconditions"`
	Actor         string          `json:"actor"`
	CreatedAt     time.Time       `json:"created_at"`
	ExpiresAt     time.Time       `json:"expires_at"`
	State         string          `json:"state"`
	AppliedAt     *time.Time      `json:"applied_at,omitempty"`
	AppliedBy     string          `json:"applied_by,omitempty"`
	Result        *Result         `json:"result,omitempty"`
	// Summary is what the plan measured when made (rebalance: the
	// imbalance before and after its moves).
	Summary json.RawMessage `json:"summary,omitempty"`
}

// Step result statuses.
const (
	StepDone   = "done"   // the status is set, the release or the move started
	StepQueued = "queued" // a move waits in the queue for room
	StepFailed = "failed" // Detail says why; the other steps went on
	// StepScheduled: a paced move waiting for its turn (RunPaced).
	StepScheduled = "scheduled"
)

// Result is what an apply did, step by step (StepResult.Step indexes
// Plan.Steps).
type Result struct {
	Done   int `json:"done"`
	Queued int `json:"queued"`
	Failed int `json:"failed"`
	// Scheduled counts the paced moves still waiting (StepScheduled).
	Scheduled int `json:"scheduled,omitempty"`
	// Cancelled counts the paced moves stopped before they ran.
	Cancelled int          `json:"cancelled,omitempty"`
	Steps     []StepResult `json:"steps"`
}

// StepResult is what became of one step.
type StepResult struct {
	Step   int    `json:"step"`
	Status string `json:"status"`
	Pool   string `json:"pool,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Draft is what a Planner returns: the steps and what they rest on.
type Draft struct {
	Steps         []Step
	Preconditions []Precondition
	// Summary, when not nil, is stored as the plan's Summary (JSON).
	Summary any
}

// Planner reads the state through s and drafts an action's plan from its
// params (the direct endpoint's body); it writes nothing. Refuse bad
// params with alloc.Invalidf.
type Planner func(ctx context.Context, s *Service, params json.RawMessage) (Draft, error)

var (
	regMu    sync.RWMutex
	registry = map[string]Planner{}
)

// Register adds an action to the table (call it from an init function).
func Register(action string, p Planner) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[action]; dup {
		panic("plans: action " + action + " registered twice")
	}
	registry[action] = p
}

// Actions lists the registered actions, sorted.
func Actions() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for a := range registry {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func planner(action string) (Planner, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	p, ok := registry[action]
	return p, ok
}

// Service makes, reads and applies plans.
type Service struct {
	st *store.Store
	rt Runtime
	// TTL is how long a new plan may be applied (DefaultTTL when 0).
	TTL time.Duration
}

// New returns a Service storing plans in st and acting through rt.
func New(st *store.Store, rt Runtime) *Service { return &Service{st: st, rt: rt, TTL: DefaultTTL} }

// Store is the store plans read (for Planners).
func (s *Service) Store() *store.Store { return s.st }

// Runtime is the placement runtime (for Planners).
func (s *Service) Runtime() Runtime { return s.rt }

// MaxSteps bounds one plan.
const MaxSteps = 10_000

// Create drafts action's plan from params and stores it.
func (s *Service) Create(ctx context.Context, action string, params json.RawMessage, actor string) (Plan, error) {
	p, ok := planner(action)
	if !ok {
		return Plan{}, alloc.Invalidf("action %q: use one of %s", action, strings.Join(Actions(), ", "))
	}
	params = bytes.TrimSpace(params)
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	d, err := p(ctx, s, params)
	if err != nil {
		return Plan{}, err
	}
	if len(d.Steps) > MaxSteps {
		return Plan{}, alloc.Invalidf("the plan has %d steps; at most %d", len(d.Steps), MaxSteps)
	}
	if d.Steps == nil {
		d.Steps = []Step{}
	}
	if d.Preconditions == nil {
		d.Preconditions = []Precondition{}
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	now := s.st.Now()
	row := store.PlanRow{Action: action, Params: params, Actor: actor, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if row.Steps, err = json.Marshal(d.Steps); err != nil {
		return Plan{}, err
	}
	if row.Preconditions, err = json.Marshal(d.Preconditions); err != nil {
		return Plan{}, err
	}
	if d.Summary != nil {
		if row.Summary, err = json.Marshal(d.Summary); err != nil {
			return Plan{}, err
		}
	}
	if row.ID, err = s.st.PlanCreate(ctx, row); err != nil {
		return Plan{}, err
	}
	return s.view(row)
}

// DefaultRetention is how long a finished plan is kept before the sweep
// deletes it (BERTH_PLAN_RETENTION changes it; 0 keeps plans forever).
const DefaultRetention = 30 * 24 * time.Hour

// DeleteFinished deletes the plans that finished more than retention ago
// (store.PlansDeleteFinishedBefore: expired unapplied, applied, or with
// their paced moves all run or cancelled; never one with a paced move
// still scheduled) and says how many went. A retention of 0 or less keeps
// every plan. Reading a deleted plan is not found, as an unknown id.
func (s *Service) DeleteFinished(ctx context.Context, retention time.Duration) (int64, error) {
	if retention <= 0 {
		return 0, nil
	}
	return s.st.PlansDeleteFinishedBefore(ctx, s.st.Now().Add(-retention))
}

// Get reads plan id.
func (s *Service) Get(ctx context.Context, id int64) (Plan, error) {
	row, err := s.st.Reader().PlanGet(ctx, id)
	if err != nil {
		return Plan{}, err
	}
	return s.view(row)
}

func (s *Service) view(row store.PlanRow) (Plan, error) {
	p := Plan{ID: row.ID, Action: row.Action, Params: row.Params, Actor: row.Actor, CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt,
		AppliedBy: row.AppliedBy, State: StateOpen, Summary: row.Summary}
	if err := json.Unmarshal(row.Steps, &p.Steps); err != nil {
		return p, fmt.Errorf("plan %d steps: %w", row.ID, err)
	}
	if err := json.Unmarshal(row.Preconditions, &p.Preconditions); err != nil {
		return p, fmt.Errorf("plan %d preconditions: %w", row.ID, err)
	}
	switch {
	case !row.AppliedAt.IsZero():
		at := row.AppliedAt
		p.AppliedAt, p.State = &at, StateApplied
	case !s.st.Now().Before(row.ExpiresAt):
		p.State = StateExpired
	}
	if len(row.Result) > 0 {
		p.Result = &Result{}
		if err := json.Unmarshal(row.Result, p.Result); err != nil {
			return p, fmt.Errorf("plan %d result: %w", row.ID, err)
		}
	}
	return p, nil
}

// Apply applies plan id's steps, exactly those, as actor. It refuses with
// ErrExpired (the plan is past ExpiresAt), ErrChanged (applied already,
// or a precondition no longer holds: the error names each) or not found.
// See the package comment for what is atomic.
func (s *Service) Apply(ctx context.Context, id int64, actor string) (Plan, error) {
	var (
		p       Plan
		res     = Result{Steps: []StepResult{}}
		changed []changedPool // pool.status steps done, told to the runtime after commit
	)
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		res, changed = Result{Steps: []StepResult{}}, nil
		row, err := tx.PlanGet(ctx, id)
		if err != nil {
			return err
		}
		if p, err = s.view(row); err != nil {
			return err
		}
		now := s.st.Now()
		if !row.AppliedAt.IsZero() {
			return fmt.Errorf("plan %d was applied at %s by %s; make a new plan: %w", id, row.AppliedAt.Format(time.RFC3339), row.AppliedBy, alloc.ErrChanged)
		}
		if !now.Before(row.ExpiresAt) {
			return fmt.Errorf("plan %d expired at %s; make a new plan: %w", id, row.ExpiresAt.Format(time.RFC3339), alloc.ErrExpired)
		}
		claimed, err := tx.PlanClaim(ctx, id, actor, now)
		if err != nil {
			return err
		}
		if !claimed {
			return fmt.Errorf("plan %d is being applied or was applied; make a new plan: %w", id, alloc.ErrChanged)
		}
		if diffs, err := check(ctx, tx, p.Preconditions); err != nil {
			return err
		} else if len(diffs) > 0 {
			return &ChangedError{Plan: id, Changes: diffs}
		}
		// The steps that join the transaction.
		paced := 0
		for i, st := range p.Steps {
			switch st.Op {
			case OpPoolStatus:
				msg := st.Message
				if msg == "" {
					msg = fmt.Sprintf("plan %d by %s", id, actor)
				}
				ok, err := s.rt.SetPoolStatusTx(ctx, tx, st.PoolID, model.PoolStatus(st.To), msg, actor, model.PoolStatus(st.From))
				if err != nil {
					return err
				}
				if !ok {
					return &ChangedError{Plan: id, Changes: []string{fmt.Sprintf("pool %s is no longer %s", st.Pool, st.From)}}
				}
				changed = append(changed, changedPool{st.PoolID, model.PoolStatus(st.To), msg})
				res.add(StepResult{Step: i, Status: StepDone, Pool: st.Pool})
			case OpRelease:
				if err := s.rt.ReleaseTx(ctx, tx, st.SeatID, actor); err != nil {
					return fmt.Errorf("release seat %d of %s: %w", st.SeatID, st.Member, err)
				}
				if err := tx.HistoryAdd(ctx, model.HistoryEntry{Member: st.Member, Pool: st.Pool, Action: model.ActOrphanRepaired, Actor: actor,
					Reason: fmt.Sprintf("orphan: kept seat %d; released seat %d (%s) by plan %d", st.KeepSeatID, st.SeatID, st.Pool, id)}); err != nil {
					return err
				}
				res.add(StepResult{Step: i, Status: StepDone, Pool: st.Pool})
			case OpMove:
				// After commit (see the package comment).
			case OpPacedMove:
				paced++
				res.add(StepResult{Step: i, Status: StepScheduled, Pool: st.Pool})
			default:
				return fmt.Errorf("plan %d step %d: unknown op %q", id, i, st.Op)
			}
		}
		if paced > 0 {
			return tx.PlanSetPending(ctx, id, paced)
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	for _, c := range changed {
		s.rt.PoolStatusChanged(ctx, c.id, c.st, c.msg, actor)
	}
	// Not atomic with the above: each move is its own placement
	// transaction. MoveSeatWithin refuses a seat that is no longer live,
	// and a second move of a seat fails (alloc.ErrMoveInProgress).
	pools := map[model.Kind][]model.Pool{}
	for i, st := range p.Steps {
		if st.Op != OpMove {
			continue
		}
		exclude, pinned := st.Exclude, st.ToID != 0
		if pinned {
			m, err := s.st.Reader().MemberGet(ctx, st.MemberID)
			if err != nil {
				res.add(StepResult{Step: i, Status: StepFailed, Detail: err.Error()})
				continue
			}
			if pools[m.Kind] == nil {
				if pools[m.Kind], err = s.st.Reader().PoolList(ctx, m.Kind); err != nil {
					return p, s.finish(ctx, &p, res, err)
				}
			}
			exclude = nil
			for _, pl := range pools[m.Kind] {
				if pl.ID != st.ToID {
					exclude = append(exclude, pl.ID)
				}
			}
		}
		o, err := s.rt.MoveSeatWithin(ctx, st.SeatID, exclude, pinned, fmt.Sprintf("plan %d (%s) by %s", id, p.Action, actor), actor)
		switch {
		case err != nil && !alloc.Refused(err):
			return p, s.finish(ctx, &p, res, err)
		case err != nil:
			res.add(StepResult{Step: i, Status: StepFailed, Detail: err.Error()})
		case o.Status == alloc.OutcomePlaced:
			res.add(StepResult{Step: i, Status: StepDone, Pool: o.Pool})
		default:
			res.add(StepResult{Step: i, Status: StepQueued, Detail: o.Reason})
		}
	}
	return p, s.finish(ctx, &p, res, nil)
}

type changedPool struct {
	id  int64
	st  model.PoolStatus
	msg string
}

func (r *Result) add(sr StepResult) {
	switch sr.Status {
	case StepDone:
		r.Done++
	case StepQueued:
		r.Queued++
	case StepFailed:
		r.Failed++
	case StepScheduled:
		r.Scheduled++
	case StepCancelled:
		r.Cancelled++
	}
	r.Steps = append(r.Steps, sr)
}

// finish records res as the plan's result (also when cause cut the apply
// short) and puts it in p.
func (s *Service) finish(ctx context.Context, p *Plan, res Result, cause error) error {
	sort.SliceStable(res.Steps, func(i, j int) bool { return res.Steps[i].Step < res.Steps[j].Step })
	b, err := json.Marshal(res)
	if err != nil {
		return errors.Join(cause, err)
	}
	if err := s.st.PlanSetResult(context.WithoutCancel(ctx), p.ID, b); err != nil {
		return errors.Join(cause, err)
	}
	now := s.st.Now()
	p.State, p.AppliedAt, p.Result = StateApplied, &now, &res
	return cause
}

// ChangedError says what changed since a plan was made (alloc.ErrChanged:
// a 409).
type ChangedError struct {
	Plan    int64
	Changes []string
}

func (e *ChangedError) Error() string {
	const show = 10
	list := e.Changes
	more := ""
	if len(list) > show {
		list, more = list[:show], fmt.Sprintf("; and %d more", len(e.Changes)-show)
	}
	return fmt.Sprintf("plan %d: changed since it was made: %s%s; nothing was applied; make a new plan", e.Plan, strings.Join(list, "; "), more)
}

func (e *ChangedError) Unwrap() error { return alloc.ErrChanged }

// check reads every precondition again in tx and says, in words, each
// that no longer holds.
func check(ctx context.Context, tx *store.Tx, pre []Precondition) ([]string, error) {
	var diffs []string
	pools := map[int64]model.Pool{}
	pool := func(id int64) (model.Pool, bool, error) {
		if p, ok := pools[id]; ok {
			return p, true, nil
		}
		p, err := tx.PoolGet(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return p, false, nil
		}
		if err != nil {
			return p, false, err
		}
		pools[id] = p
		return p, true, nil
	}
	var members []int64
	for _, c := range pre {
		switch c.Kind {
		case PrePoolStatus, PrePoolRoom:
			p, ok, err := pool(c.PoolID)
			if err != nil {
				return nil, err
			}
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("pool %s was deleted", c.Pool))
			case c.Kind == PrePoolStatus && string(p.Status) != c.Status:
				diffs = append(diffs, fmt.Sprintf("pool %s is %s, was %s", p.Name, p.Status, c.Status))
			case c.Kind == PrePoolRoom && p.Free() < c.Free:
				diffs = append(diffs, fmt.Sprintf("pool %s has %d free seat(s), the plan needs %d", p.Name, p.Free(), c.Free))
			}
		case PreSeat:
			// The pending move first, then the seat: on PostgreSQL each
			// statement reads what is committed when it starts, so a move
			// finishing in between shows as the old seat releasing, never
			// as neither.
			if _, err := tx.MovePending(ctx, c.SeatID); err == nil {
				diffs = append(diffs, fmt.Sprintf("member %s is already moving off %s (seat %d)", c.Member, c.Pool, c.SeatID))
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			seat, err := tx.SeatGet(ctx, c.SeatID)
			if errors.Is(err, store.ErrNotFound) {
				diffs = append(diffs, fmt.Sprintf("member %s: seat %d is gone", c.Member, c.SeatID))
				continue
			}
			if err != nil {
				return nil, err
			}
			switch {
			case !seat.State.Live():
				diffs = append(diffs, fmt.Sprintf("member %s already moved: seat %d on %s is %s", c.Member, c.SeatID, seat.Pool, seat.State))
			case seat.PoolID != c.PoolID:
				diffs = append(diffs, fmt.Sprintf("member %s: seat %d is on %s, was on %s", c.Member, c.SeatID, seat.Pool, c.Pool))
			}
		case PreMemberSeats:
			members = append(members, c.MemberID)
		default:
			return nil, fmt.Errorf("unknown precondition %q", c.Kind)
		}
	}
	if len(members) > 0 {
		live, err := tx.LiveSeatsOf(ctx, members)
		if err != nil {
			return nil, err
		}
		now := map[int64][]int64{}
		for _, ls := range live {
			now[ls.MemberID] = append(now[ls.MemberID], ls.ID)
		}
		for _, c := range pre {
			if c.Kind == PreMemberSeats && !sameSet(now[c.MemberID], c.Seats) {
				diffs = append(diffs, fmt.Sprintf("member %s holds live seats %v, had %v", c.Member, sorted(now[c.MemberID]), sorted(c.Seats)))
			}
		}
	}
	return diffs, nil
}

func sorted(ids []int64) []int64 {
	out := append([]int64{}, ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sameSet(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = sorted(a), sorted(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// decodeParams reads an action's params strictly (unknown fields refused).
func decodeParams(params json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return alloc.Invalidf("params: %v", err)
	}
	return nil
}

var _ Runtime = (*alloc.Service)(nil)
