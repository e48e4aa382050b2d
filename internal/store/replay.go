package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/replay"
)

// replayActions are the history actions a replay reads.
var replayActions = []string{
	model.ActPoolCreated, model.ActPoolUpdated, model.ActPoolStatus, model.ActHealthOffline, model.ActHealthRecovered,
	model.ActQueued, model.ActPlaced, model.ActMoveStarted, model.ActReleased, model.ActRejected, model.ActQueueCancelled,
}

var (
	createdCapacity = regexp.MustCompile(`capacity (\d+)`)
	updatedCapacity = regexp.MustCompile(`capacity (\d+)→(\d+)`)
)

// ReplayInput reads the history, oldest first, into the events of a replay
// (package replay, `berth replay`): pools created, resized and changing
// status; members arriving (their first queued or placed row), placed,
// moved and leaving (the release of their last seat, a rejection, or a
// cancelled wait). Events before since are read too, as the replay's
// warm-up; since is the start of the measured window (zero: all).
//
// The history names members and pools; their kind, labels, affinity key,
// priority and weight are read from today's rows. A pool's capacity at creation
// and each change come from the history's reasons ("capacity 5→6"); a pool
// older than the history starts with the capacity and status its first
// recorded change came from, else today's. It only reads, row by row.
func (q *Queries) ReplayInput(ctx context.Context, since time.Time) (replay.Input, error) {
	r := replayReader{poolIdx: map[string]int32{}, memberIdx: map[string]int32{}, rows: map[string][]replay.Member{}}
	if !since.IsZero() {
		r.in.Since = micros(since)
	}
	// weight came with migration 011; replay reads older databases too.
	const pools = `SELECT name, kind, capacity, status, labels, priority, %s FROM pools ORDER BY id`
	rows, err := q.db.QueryContext(ctx, fmt.Sprintf(pools, "weight"))
	if err != nil {
		rows, err = q.db.QueryContext(ctx, fmt.Sprintf(pools, "1"))
	}
	err = scanEach(rows, err, func(row rowScanner) error {
		var p replay.Pool
		var st poolStart
		var labels string
		if err := row.Scan(&p.Name, &p.Kind, &st.capacity, &st.status, &labels, &p.Priority, &p.Weight); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(labels), &p.Labels); err != nil {
			return fmt.Errorf("pool %s labels: %w", p.Name, err)
		}
		r.poolIdx[p.Name] = int32(len(r.in.Pools))
		r.in.Pools = append(r.in.Pools, p)
		r.start = append(r.start, st)
		return nil
	})
	if err != nil {
		return replay.Input{}, fmt.Errorf("replay: pools: %w", err)
	}
	rows, err = q.db.QueryContext(ctx, `SELECT external_id, kind, affinity_key, labels FROM members`)
	err = scanEach(rows, err, func(row rowScanner) error {
		var m replay.Member
		var labels string
		if err := row.Scan(&m.Name, &m.Kind, &m.AffinityKey, &labels); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(labels), &m.Labels); err != nil {
			return fmt.Errorf("member %s labels: %w", m.Name, err)
		}
		if len(m.Labels) == 0 {
			m.Labels = nil
		}
		r.rows[m.Name] = append(r.rows[m.Name], m)
		return nil
	})
	if err != nil {
		return replay.Input{}, fmt.Errorf("replay: members: %w", err)
	}
	var w where
	marks := make([]string, len(replayActions))
	for i, a := range replayActions {
		marks[i] = w.arg(a)
	}
	rows, err = q.db.QueryContext(ctx, `SELECT at, member, pool, action, from_pool, to_pool, reason FROM history
		WHERE action IN (`+strings.Join(marks, ", ")+`) ORDER BY id`, w.args...)
	err = scanEach(rows, err, func(row rowScanner) error {
		var h model.HistoryEntry
		var at int64
		if err := row.Scan(&at, &h.Member, &h.Pool, &h.Action, &h.From, &h.To, &h.Reason); err != nil {
			return err
		}
		r.row(max(at, r.last), h) // ids order the rows; a clock may not
		return nil
	})
	if err != nil {
		return replay.Input{}, fmt.Errorf("replay: history: %w", err)
	}
	r.finish()
	return r.in, nil
}

// poolStart is what a pool the history did not see created starts with.
type poolStart struct {
	capacity int
	status   model.PoolStatus
	created  bool // a pool.created row was read
	changed  bool // capacity or status already taken from a change
	capSet   bool
}

type replayReader struct {
	in        replay.Input
	start     []poolStart
	poolIdx   map[string]int32
	memberIdx map[string]int32
	rows      map[string][]replay.Member // members by name (one per kind)
	state     []uint8                    // per member: absent, waiting, seated
	at        []int32                    // the seated member's pool
	last      int64
}

const (
	rdAbsent uint8 = iota
	rdWaiting
	rdSeated
)

func (r *replayReader) emit(e replay.Event) { r.in.Events = append(r.in.Events, e) }

// member returns the index of the member named name, adding it; kind
// (when known) picks among members of both kinds with that name.
func (r *replayReader) member(name string, kind model.Kind) int32 {
	if i, ok := r.memberIdx[name]; ok {
		if m := &r.in.Members[i]; kind != "" && m.Kind != kind {
			if alt, ok := r.pick(name, kind); ok || m.Kind == "" {
				*m = alt
			}
		}
		return i
	}
	m, _ := r.pick(name, kind)
	i := int32(len(r.in.Members))
	r.memberIdx[name] = i
	r.in.Members = append(r.in.Members, m)
	r.state = append(r.state, rdAbsent)
	r.at = append(r.at, -1)
	return i
}

// pick returns the member row named name of kind (any kind when "").
func (r *replayReader) pick(name string, kind model.Kind) (replay.Member, bool) {
	for _, m := range r.rows[name] {
		if kind == "" || m.Kind == kind {
			return m, true
		}
	}
	if rows := r.rows[name]; len(rows) > 0 && kind == "" {
		return rows[0], true
	}
	return replay.Member{Name: name, Kind: kind}, false
}

func (r *replayReader) row(at int64, h model.HistoryEntry) {
	r.last = at
	switch h.Action {
	case model.ActPoolCreated:
		p, ok := r.poolIdx[h.Pool]
		if !ok {
			return
		}
		st := &r.start[p]
		capacity := st.capacity
		if m := createdCapacity.FindStringSubmatch(h.Reason); m != nil {
			capacity, _ = strconv.Atoi(m[1])
		}
		st.created = true
		r.emit(replay.Event{At: at, Op: replay.OpPoolAdd, Pool: p, N: int32(capacity), Status: model.StatusActive})
	case model.ActPoolUpdated:
		p, ok := r.poolIdx[h.Pool]
		m := updatedCapacity.FindStringSubmatch(h.Reason)
		if !ok || m == nil || m[1] == m[2] {
			return
		}
		from, _ := strconv.Atoi(m[1])
		to, _ := strconv.Atoi(m[2])
		if st := &r.start[p]; !st.created && !st.capSet {
			st.capacity, st.capSet = from, true
		}
		r.emit(replay.Event{At: at, Op: replay.OpCapacity, Pool: p, N: int32(to)})
	case model.ActPoolStatus, model.ActHealthOffline, model.ActHealthRecovered:
		p, ok := r.poolIdx[h.Pool]
		to := model.PoolStatus(h.To)
		if !ok || !to.Valid() {
			return
		}
		if st := &r.start[p]; !st.created && !st.changed && model.PoolStatus(h.From).Valid() {
			st.status, st.changed = model.PoolStatus(h.From), true
		}
		r.emit(replay.Event{At: at, Op: replay.OpStatus, Pool: p, Status: to})
	case model.ActQueued:
		m := r.member(h.Member, "")
		if r.state[m] == rdAbsent { // a queued move keeps its seat
			r.state[m] = rdWaiting
			r.emit(replay.Event{At: at, Op: replay.OpArrive, Member: m})
		}
	case model.ActPlaced, model.ActMoveStarted:
		p, ok := r.poolIdx[h.To]
		if !ok {
			return
		}
		m := r.member(h.Member, r.in.Pools[p].Kind)
		switch r.state[m] {
		case rdAbsent:
			r.emit(replay.Event{At: at, Op: replay.OpArrive, Member: m})
			fallthrough
		case rdWaiting:
			r.emit(replay.Event{At: at, Op: replay.OpPlace, Member: m, Pool: p})
		default: // a move, or a seat that failed placed again
			if r.at[m] == p {
				return
			}
			r.emit(replay.Event{At: at, Op: replay.OpMove, Member: m, Pool: p})
		}
		r.state[m], r.at[m] = rdSeated, p
	case model.ActReleased:
		i, ok := r.memberIdx[h.Member]
		p, pok := r.poolIdx[h.From]
		if !ok || !pok || r.state[i] != rdSeated || r.at[i] != p {
			return // the old seat of a move, or a seat never seen placed
		}
		r.state[i] = rdAbsent
		r.emit(replay.Event{At: at, Op: replay.OpDepart, Member: i})
	case model.ActRejected, model.ActQueueCancelled:
		i, ok := r.memberIdx[h.Member]
		if !ok || r.state[i] == rdAbsent || (h.Action == model.ActQueueCancelled && r.state[i] != rdWaiting) {
			return
		}
		r.state[i] = rdAbsent
		r.emit(replay.Event{At: at, Op: replay.OpDepart, Member: i})
	}
}

// finish puts the pools the history did not see created at its start.
func (r *replayReader) finish() {
	var first []replay.Event
	at := int64(0)
	if len(r.in.Events) > 0 {
		at = r.in.Events[0].At
	}
	for p, st := range r.start {
		if !st.created {
			first = append(first, replay.Event{At: at, Op: replay.OpPoolAdd, Pool: int32(p), N: int32(st.capacity), Status: st.status})
		}
	}
	if len(first) > 0 {
		r.in.Events = append(first, r.in.Events...)
	}
}
