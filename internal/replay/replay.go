package replay

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// Op is what an [Event] does.
type Op uint8

const (
	// OpPoolAdd: pool Pool appears with capacity N and status Status.
	OpPoolAdd Op = iota + 1
	// OpCapacity: pool Pool's capacity becomes N.
	OpCapacity
	// OpStatus: pool Pool's status becomes Status.
	OpStatus
	// OpArrive: member Member asks for a seat.
	OpArrive
	// OpPlace: recorded — member Member got a seat in pool Pool. Only
	// [Actual] (and the warm-up before Since) follows it.
	OpPlace
	// OpMove: recorded — member Member moved to pool Pool. Only [Actual]
	// (and the warm-up before Since) follows it.
	OpMove
	// OpDepart: member Member leaves: its seat, or its place in the queue.
	OpDepart
)

// Event is one recorded change, small so that a million fit in a few tens
// of megabytes.
type Event struct {
	// At is when, in microseconds since the Unix epoch.
	At int64
	Op Op
	// Member indexes [Input.Members] (OpArrive, OpPlace, OpMove, OpDepart).
	Member int32
	// Pool indexes [Input.Pools] (OpPoolAdd, OpCapacity, OpStatus, OpPlace,
	// OpMove).
	Pool int32
	// N is the capacity (OpPoolAdd, OpCapacity).
	N int32
	// Status is the pool's status (OpPoolAdd, OpStatus).
	Status model.PoolStatus
}

// Pool is what the replay knows of a pool besides its counts.
type Pool struct {
	Name     string
	Kind     model.Kind
	Labels   map[string]string
	Priority int
	Weight   int // the pool's share of new members ([placement.Pool]); below 1 means 1
}

// Member is what placement looks at in a member.
type Member struct {
	Name        string
	Kind        model.Kind
	AffinityKey string
	Labels      map[string]string
}

// Input is a recorded stretch of a fleet's life.
type Input struct {
	Pools   []Pool
	Members []Member
	// Events in time order (equal times keep their order).
	Events []Event
	// Since (microseconds since the Unix epoch; 0 for all) starts the
	// measured window: earlier events are a warm-up followed as recorded.
	Since int64
}

// Metrics measure one run over the window [Start, End].
type Metrics struct {
	// Strategy is "actual" for [Actual], else the strategy replayed.
	Strategy string    `json:"strategy"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Arrivals in the window; Placed of them (or of earlier ones) got a
	// seat in it; StillQueued wait at its end (moving members included).
	Arrivals    int `json:"arrivals"`
	Placed      int `json:"placed"`
	StillQueued int `json:"still_queued"`
	// PoolsUsed is how many distinct pools held a member in the window,
	// PeakPoolsInUse the most at one time.
	PoolsUsed      int `json:"pools_used"`
	PeakPoolsInUse int `json:"peak_pools_in_use"`
	// PeakUtilization is the highest used/capacity any pool reached;
	// MeanUtilization is used/capacity over the pools in use (holding a
	// member), averaged over time.
	PeakUtilization float64 `json:"peak_utilization"`
	MeanUtilization float64 `json:"mean_utilization"`
	// Waits from arrival to seat, over the members placed in the window
	// (zero for one placed at once), in seconds.
	WaitP50 float64 `json:"wait_p50_seconds"`
	WaitP95 float64 `json:"wait_p95_seconds"`
	WaitMax float64 `json:"wait_max_seconds"`
	// Moved counts members moved because their pool failed (banned,
	// credential_invalid, offline); Drained those moved off a draining pool.
	Moved   int `json:"moved"`
	Drained int `json:"drained"`
}

// Actual measures the events as they were recorded.
func Actual(in Input) Metrics {
	s := newSim(&in, "", false)
	return s.run()
}

// Run replays the events under strategy st: placements are decided by the
// placement engine, not taken from the record.
func Run(in Input, st placement.Strategy) Metrics {
	s := newSim(&in, st, true)
	return s.run()
}

// member states
const (
	absent  uint8 = iota
	waiting       // arrived, no seat yet
	placed        // holds a seat
	moving        // lost its seat to a failed pool, queued for another
)

type sim struct {
	in       *Input
	strategy placement.Strategy
	replay   bool // decide placements (after Since) rather than follow
	follow   bool // currently following the record
	ix       *placement.Index

	// pools, by index
	exists   []bool
	capacity []int
	used     []int
	status   []model.PoolStatus
	members  [][]int32 // members holding a seat, in any order
	ever     []bool

	// members, by index
	state   []uint8
	where   []int32 // pool index while placed
	pos     []int32 // position in members[where]
	arrived []int64
	gen     []uint32
	queueOf []*queue

	queues  map[string]*queue
	byKind  map[model.Kind][]*queue
	queued  map[model.Kind]int // live entries per kind
	seq     uint64
	waits   []int64
	m       Metrics
	measure bool
	start   int64
	last    int64
	area    float64 // integral of used/capacity over the pools in use, µs
	inUse   int
	useUsed int
	useCap  int
}

func newSim(in *Input, st placement.Strategy, replay bool) *sim {
	np, nm := len(in.Pools), len(in.Members)
	s := &sim{
		in: in, strategy: st, replay: replay, follow: true,
		exists: make([]bool, np), capacity: make([]int, np), used: make([]int, np),
		status: make([]model.PoolStatus, np), members: make([][]int32, np), ever: make([]bool, np),
		state: make([]uint8, nm), where: make([]int32, nm), pos: make([]int32, nm),
		arrived: make([]int64, nm), gen: make([]uint32, nm), queueOf: make([]*queue, nm),
		queues: map[string]*queue{}, byKind: map[model.Kind][]*queue{}, queued: map[model.Kind]int{},
	}
	if replay {
		s.ix = placement.NewIndex(nil, nil)
		s.m.Strategy = string(st)
	} else {
		s.m.Strategy = "actual"
	}
	return s
}

func (s *sim) run() Metrics {
	ev := s.in.Events
	for i := range ev {
		e := &ev[i]
		if !s.measure && e.At >= s.in.Since {
			s.begin(max(s.in.Since, e.At))
			if s.in.Since > 0 {
				s.start, s.last = s.in.Since, s.in.Since
			}
		}
		if s.measure && e.At > s.last {
			s.advance(e.At)
		}
		s.apply(e)
	}
	if !s.measure { // nothing at or after Since
		s.begin(max(s.in.Since, s.last))
	}
	return s.finish()
}

// begin opens the measured window at t: the replay stops following the
// record, and the members waiting then join its queues.
func (s *sim) begin(t int64) {
	s.measure, s.start, s.last = true, t, t
	for p := range s.used {
		if s.used[p] > 0 {
			s.ever[p] = true
			s.m.PoolsUsed++
			s.peak(int32(p))
		}
	}
	s.m.PeakPoolsInUse = s.inUse
	if !s.replay {
		return
	}
	s.follow = false
	var late []int32
	for m, st := range s.state {
		if st == waiting {
			late = append(late, int32(m))
		}
	}
	slices.SortStableFunc(late, func(a, b int32) int { return cmp.Compare(s.arrived[a], s.arrived[b]) })
	for _, m := range late { // in the order they came
		s.enqueue(m, false)
	}
	for _, k := range model.Kinds() {
		s.drain(k, t)
	}
}

// advance integrates utilization up to t.
func (s *sim) advance(t int64) {
	if s.useCap > 0 {
		s.area += float64(s.useUsed) / float64(s.useCap) * float64(t-s.last)
	}
	s.last = t
}

func (s *sim) apply(e *Event) {
	switch e.Op {
	case OpPoolAdd:
		p := e.Pool
		s.exists[p] = true
		s.setCapacity(p, int(e.N))
		s.status[p] = e.Status
		s.upsert(p)
		if e.Status.TakesMembers() {
			s.drain(s.in.Pools[p].Kind, e.At)
		}
	case OpCapacity:
		p := e.Pool
		grew := int(e.N) > s.capacity[p]
		s.setCapacity(p, int(e.N))
		s.recount(p)
		if grew && s.status[p].TakesMembers() {
			s.drain(s.in.Pools[p].Kind, e.At)
		}
	case OpStatus:
		p := e.Pool
		old := s.status[p]
		s.status[p] = e.Status
		s.recount(p)
		switch {
		case e.Status.TakesMembers() && !old.TakesMembers():
			s.drain(s.in.Pools[p].Kind, e.At)
		case evacuates(e.Status) && !evacuates(old) && !s.follow:
			s.evacuate(p, e.Status, e.At)
		}
	case OpArrive:
		m := e.Member
		if s.state[m] != absent || s.in.Members[m].Kind == "" {
			return
		}
		s.state[m], s.arrived[m] = waiting, e.At
		s.gen[m]++
		if s.measure {
			s.m.Arrivals++
		}
		if !s.follow && !s.place(m, e.At) {
			s.enqueue(m, false)
		}
	case OpPlace, OpMove:
		if !s.follow {
			return
		}
		m, p := e.Member, e.Pool
		switch s.state[m] {
		case placed:
			from := s.where[m]
			if from == p {
				return
			}
			if s.measure { // the reason of a recorded move is its old pool's status
				switch {
				case s.status[from].Unhealthy():
					s.m.Moved++
				case s.status[from] == model.StatusDraining:
					s.m.Drained++
				}
			}
			s.unseat(m)
			s.seat(m, p)
		case absent: // a placement without its arrival: arrives now
			s.arrived[m] = e.At
			if s.measure {
				s.m.Arrivals++
			}
			fallthrough
		default:
			s.seated(m, e.At)
			s.seat(m, p)
		}
	case OpDepart:
		m := e.Member
		switch s.state[m] {
		case placed:
			k := s.in.Pools[s.where[m]].Kind
			s.unseat(m)
			s.state[m] = absent
			if !s.follow {
				s.drain(k, e.At)
			}
		case waiting, moving:
			if q := s.queueOf[m]; q != nil && !s.follow {
				s.queued[q.kind]--
			}
			s.state[m] = absent
			s.gen[m]++ // its queue entry is stale
		}
	}
}

// evacuates reports whether a pool in status st sends its members away.
func evacuates(st model.PoolStatus) bool {
	return st.Unhealthy() || st == model.StatusDraining
}

// evacuate moves every member off pool p, which became st: each is placed
// elsewhere at once or queued ahead of the arrivals.
func (s *sim) evacuate(p int32, st model.PoolStatus, t int64) {
	list := slices.Clone(s.members[p])
	for _, m := range list {
		if s.measure {
			if st.Unhealthy() {
				s.m.Moved++
			} else {
				s.m.Drained++
			}
		}
		s.unseat(m)
		s.state[m] = moving
		if !s.place(m, t) {
			s.enqueue(m, true)
		}
	}
}

// place asks the index for a pool for m and seats it there.
func (s *sim) place(m int32, t int64) bool {
	mb := &s.in.Members[m]
	d := s.ix.Place(placement.Request{Kind: mb.Kind, AffinityKey: s.key(m), Labels: mb.Labels, Strategy: s.strategy})
	if d.Pool == nil {
		return false
	}
	if s.state[m] == waiting {
		s.seated(m, t)
	}
	s.seat(m, int32(d.Pool.ID))
	return true
}

// key is the affinity key the index is told for m: none under spread,
// whose order (least loaded) never looks at keys, so the index does not
// keep per-key ordered sets that only pack reads (each pool would hold
// dozens of keys under spread, and every seat would update them all).
func (s *sim) key(m int32) string {
	if s.strategy == placement.StrategySpread {
		return ""
	}
	return s.in.Members[m].AffinityKey
}

// seated records an arrival's wait.
func (s *sim) seated(m int32, t int64) {
	if s.measure {
		s.m.Placed++
		s.waits = append(s.waits, t-s.arrived[m])
	}
}

// seat puts m into pool p.
func (s *sim) seat(m, p int32) {
	s.state[m], s.where[m], s.pos[m] = placed, p, int32(len(s.members[p]))
	s.members[p] = append(s.members[p], m)
	if s.ix != nil {
		s.ix.Commit(int64(p), s.key(m))
	}
	s.addUsed(p, 1)
}

// unseat takes m out of its pool.
func (s *sim) unseat(m int32) {
	p := s.where[m]
	list := s.members[p]
	i, last := s.pos[m], list[len(list)-1]
	list[i], s.pos[last] = last, i
	s.members[p] = list[:len(list)-1]
	if s.ix != nil {
		s.ix.Release(int64(p), s.key(m))
	}
	s.addUsed(p, -1)
}

func (s *sim) addUsed(p int32, d int) {
	before := s.used[p]
	s.used[p] += d
	s.useUsed += d
	switch {
	case before == 0 && s.used[p] > 0:
		s.inUse++
		s.useCap += s.capacity[p]
		if s.measure {
			if !s.ever[p] {
				s.ever[p] = true
				s.m.PoolsUsed++
			}
			s.m.PeakPoolsInUse = max(s.m.PeakPoolsInUse, s.inUse)
		}
	case before > 0 && s.used[p] == 0:
		s.inUse--
		s.useCap -= s.capacity[p]
	}
	if d > 0 && s.measure {
		s.peak(p)
	}
}

func (s *sim) peak(p int32) {
	if c := s.capacity[p]; c > 0 {
		s.m.PeakUtilization = max(s.m.PeakUtilization, float64(s.used[p])/float64(c))
	}
}

func (s *sim) setCapacity(p int32, c int) {
	if s.used[p] > 0 {
		s.useCap += c - s.capacity[p]
	}
	s.capacity[p] = c
}

func (s *sim) upsert(p int32) {
	if s.ix == nil {
		return
	}
	in := &s.in.Pools[p]
	s.ix.Upsert(placement.Pool{ID: int64(p), Name: in.Name, Kind: in.Kind, Capacity: s.capacity[p], Used: s.used[p],
		Status: s.status[p], Labels: in.Labels, Priority: in.Priority, Weight: in.Weight})
}

func (s *sim) recount(p int32) {
	if s.ix != nil && s.exists[p] {
		s.ix.Recount(int64(p), s.used[p], s.capacity[p], s.status[p])
	}
}

// queue holds the members of one kind and one set of label constraints
// waiting for room, members moving off a failed pool first, each in FIFO
// order.
type queue struct {
	kind          model.Kind
	moves, comers fifo
}

type entry struct {
	m   int32
	gen uint32
	seq uint64
}

type fifo struct {
	items []entry
	head  int
}

func (f *fifo) push(e entry) { f.items = append(f.items, e) }

// front returns the first live entry, dropping stale ones.
func (f *fifo) front(s *sim) (entry, bool) {
	for f.head < len(f.items) {
		e := f.items[f.head]
		if s.gen[e.m] == e.gen && (s.state[e.m] == waiting || s.state[e.m] == moving) {
			return e, true
		}
		f.pop()
	}
	return entry{}, false
}

func (f *fifo) pop() {
	f.items[f.head] = entry{}
	f.head++
	if f.head == len(f.items) {
		f.items, f.head = f.items[:0], 0
	} else if f.head > 1024 && f.head*2 > len(f.items) {
		n := copy(f.items, f.items[f.head:])
		f.items, f.head = f.items[:n], 0
	}
}

// next returns the queue's first live entry, moves before arrivals.
func (q *queue) next(s *sim) (entry, *fifo, bool) {
	if e, ok := q.moves.front(s); ok {
		return e, &q.moves, true
	}
	e, ok := q.comers.front(s)
	return e, &q.comers, ok
}

// enqueue puts m at the end of its queue (of the moves when move).
func (s *sim) enqueue(m int32, move bool) {
	q := s.queueOf[m]
	if q == nil {
		mb := &s.in.Members[m]
		key := constraintKey(mb.Kind, mb.Labels)
		if q = s.queues[key]; q == nil {
			q = &queue{kind: mb.Kind}
			s.queues[key] = q
			s.byKind[mb.Kind] = append(s.byKind[mb.Kind], q)
		}
		s.queueOf[m] = q
	}
	s.seq++
	e := entry{m: m, gen: s.gen[m], seq: s.seq}
	if move {
		q.moves.push(e)
	} else {
		q.comers.push(e)
	}
	s.queued[q.kind]++
}

// drain places waiting members of kind k while room lets it: the queue
// whose first member came first goes first (moves before any arrival);
// a queue whose first member finds no pool waits for the next change.
func (s *sim) drain(k model.Kind, t int64) {
	if s.follow || s.queued[k] == 0 {
		return
	}
	qs := s.byKind[k]
	blocked := make([]bool, len(qs))
	for s.queued[k] > 0 {
		best, bestMove := -1, false
		var bestE entry
		for i, q := range qs {
			if blocked[i] {
				continue
			}
			e, f, ok := q.next(s)
			if !ok {
				blocked[i] = true
				continue
			}
			move := f == &q.moves
			if best < 0 || (move && !bestMove) || (move == bestMove && e.seq < bestE.seq) {
				best, bestMove, bestE = i, move, e
			}
		}
		if best < 0 {
			return
		}
		if !s.place(bestE.m, t) {
			blocked[best] = true
			continue
		}
		q := qs[best]
		if bestMove {
			q.moves.pop()
		} else {
			q.comers.pop()
		}
		s.queued[k]--
	}
}

// constraintKey names a kind and a set of label constraints.
func constraintKey(k model.Kind, labels map[string]string) string {
	if len(labels) == 0 {
		return string(k)
	}
	var b strings.Builder
	b.WriteString(string(k))
	for _, key := range slices.Sorted(maps.Keys(labels)) {
		b.WriteString("\x00" + key + "=" + labels[key])
	}
	return b.String()
}

func (s *sim) finish() Metrics {
	m := s.m
	m.Start, m.End = time.UnixMicro(s.start).UTC(), time.UnixMicro(max(s.last, s.start)).UTC()
	if d := s.last - s.start; d > 0 {
		m.MeanUtilization = s.area / float64(d)
	} else if s.useCap > 0 {
		m.MeanUtilization = float64(s.useUsed) / float64(s.useCap)
	}
	for _, st := range s.state {
		if st == waiting || st == moving {
			m.StillQueued++
		}
	}
	if len(s.waits) > 0 {
		slices.Sort(s.waits)
		m.WaitP50 = seconds(percentile(s.waits, 50))
		m.WaitP95 = seconds(percentile(s.waits, 95))
		m.WaitMax = seconds(s.waits[len(s.waits)-1])
	}
	return m
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []int64, p int) int64 {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n)
	return sorted[max(rank, 1)-1]
}

func seconds(us int64) float64 { return float64(us) / 1e6 }
