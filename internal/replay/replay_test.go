package replay_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/replay"
)

// build helps write events by hand: times in seconds.
type build struct{ in replay.Input }

func (b *build) pool(name string, capacity int, prio int) int32 {
	b.in.Pools = append(b.in.Pools, replay.Pool{Name: name, Kind: model.KindServer, Priority: prio})
	p := int32(len(b.in.Pools) - 1)
	b.in.Events = append(b.in.Events, replay.Event{Op: replay.OpPoolAdd, Pool: p, N: int32(capacity), Status: model.StatusActive})
	return p
}

func (b *build) member(name, key string) int32 {
	b.in.Members = append(b.in.Members, replay.Member{Name: name, Kind: model.KindServer, AffinityKey: key})
	return int32(len(b.in.Members) - 1)
}

func (b *build) ev(sec int64, op replay.Op, m, p int32) {
	b.in.Events = append(b.in.Events, replay.Event{At: sec * 1e6, Op: op, Member: m, Pool: p})
}

func (b *build) status(sec int64, p int32, st model.PoolStatus) {
	b.in.Events = append(b.in.Events, replay.Event{At: sec * 1e6, Op: replay.OpStatus, Pool: p, Status: st})
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// Four members of one script on three pools of four: pack keeps them on
// one pool, spread puts them on all three; the record had them on two.
func TestPackUsesFewerPoolsThanSpread(t *testing.T) {
	var b build
	p0, p1, _ := b.pool("a", 4, 0), b.pool("b", 4, 0), b.pool("c", 4, 0)
	for i, name := range []string{"m1", "m2", "m3", "m4"} {
		m := b.member(name, "script-1")
		b.ev(int64(i+1), replay.OpArrive, m, 0)
		b.ev(int64(i+1), replay.OpPlace, m, []int32{p0, p1}[i%2])
	}
	for m := range int32(4) {
		b.ev(100, replay.OpDepart, m, 0)
	}

	pack := replay.Run(b.in, placement.StrategyPack)
	spread := replay.Run(b.in, placement.StrategySpread)
	actual := replay.Actual(b.in)
	if pack.PoolsUsed != 1 || spread.PoolsUsed != 3 || actual.PoolsUsed != 2 {
		t.Fatalf("pools used: pack %d, spread %d, actual %d; want 1, 3, 2", pack.PoolsUsed, spread.PoolsUsed, actual.PoolsUsed)
	}
	if spread.PeakPoolsInUse != 3 {
		t.Errorf("spread peak pools in use = %d, want 3", spread.PeakPoolsInUse)
	}
	near(t, "pack peak utilization", pack.PeakUtilization, 1)
	near(t, "spread peak utilization", spread.PeakUtilization, 0.5) // 2, 1, 1 of 4
	near(t, "actual peak utilization", actual.PeakUtilization, 0.5)
	// pack: 1/4 over [1,2), 2/4 over [2,3), 3/4 over [3,4), 4/4 over [4,100), none over [0,1): over 100 s.
	near(t, "pack mean utilization", pack.MeanUtilization, (0.25+0.5+0.75+96)/100)
	// spread: 1/4, 2/8, 3/12, then 4/12 from 4 s on.
	near(t, "spread mean utilization", spread.MeanUtilization, (0.25+0.25+0.25+96.0/3)/100)
	for _, m := range []replay.Metrics{pack, spread, actual} {
		if m.Arrivals != 4 || m.Placed != 4 || m.StillQueued != 0 || m.WaitP95 != 0 || m.Moved != 0 {
			t.Errorf("%s: %+v", m.Strategy, m)
		}
	}
	if pack.Strategy != "pack" || actual.Strategy != "actual" {
		t.Errorf("strategies %q, %q", pack.Strategy, actual.Strategy)
	}
}

// One seat, three members: the second and third wait their turn, FIFO.
func TestQueueWaits(t *testing.T) {
	var b build
	p := b.pool("only", 1, 0)
	m1, m2, m3 := b.member("m1", ""), b.member("m2", ""), b.member("m3", "")
	b.ev(1, replay.OpArrive, m1, 0)
	b.ev(2, replay.OpArrive, m2, 0)
	b.ev(3, replay.OpArrive, m3, 0)
	b.ev(10, replay.OpDepart, m1, 0)
	b.ev(20, replay.OpDepart, m2, 0)
	b.ev(30, replay.OpDepart, m3, 0)
	_ = p
	for _, st := range placement.Strategies() {
		got := replay.Run(b.in, st)
		// waits 0, 8, 17 s: p50 (nearest rank) 8, p95 17.
		if got.Placed != 3 || got.WaitP50 != 8 || got.WaitP95 != 17 || got.WaitMax != 17 || got.StillQueued != 0 {
			t.Errorf("%s: %+v", st, got)
		}
		near(t, "peak utilization", got.PeakUtilization, 1)
	}

	// The third leaves the queue before its turn: it is not waiting at the end.
	var c build
	c.pool("only", 1, 0)
	n1, n2 := c.member("n1", ""), c.member("n2", "")
	c.ev(1, replay.OpArrive, n1, 0)
	c.ev(2, replay.OpArrive, n2, 0)
	got := replay.Run(c.in, placement.StrategyPack)
	if got.StillQueued != 1 || got.Placed != 1 {
		t.Errorf("n2 still waits: %+v", got)
	}
	c.ev(3, replay.OpDepart, n2, 0)
	c.ev(4, replay.OpDepart, n1, 0)
	got = replay.Run(c.in, placement.StrategyPack)
	if got.StillQueued != 0 || got.Placed != 1 || got.Arrivals != 2 {
		t.Errorf("n2 left the queue: %+v", got)
	}
}

// A pool goes offline: its members are moved, one at once, one when room
// comes back, ahead of a member who arrived while they waited.
func TestFailedPoolMovesItsMembers(t *testing.T) {
	var b build
	a, bb := b.pool("a", 2, 0), b.pool("b", 1, 1)
	m1, m2, m3 := b.member("m1", "k"), b.member("m2", "k"), b.member("m3", "k")
	b.ev(1, replay.OpArrive, m1, 0)
	b.ev(1, replay.OpPlace, m1, a)
	b.ev(2, replay.OpArrive, m2, 0)
	b.ev(2, replay.OpPlace, m2, a)
	b.status(10, a, model.StatusOffline)
	b.ev(11, replay.OpMove, m1, bb) // the record: one moved, the other stayed
	b.ev(15, replay.OpArrive, m3, 0)
	b.status(20, a, model.StatusActive)
	b.ev(20, replay.OpPlace, m3, a)
	b.ev(30, replay.OpDepart, m1, 0)

	got := replay.Run(b.in, placement.StrategyPack)
	if got.Moved != 2 || got.Drained != 0 {
		t.Errorf("moved %d drained %d, want 2 and 0", got.Moved, got.Drained)
	}
	// m1 and m2 placed at once (a holds their key), m3 waits 5 s behind m2.
	if got.Arrivals != 3 || got.Placed != 3 || got.StillQueued != 0 || got.WaitMax != 5 || got.WaitP50 != 0 {
		t.Errorf("replay: %+v", got)
	}
	act := replay.Actual(b.in)
	if act.Moved != 1 || act.Placed != 3 || act.WaitMax != 5 || act.PoolsUsed != 2 {
		t.Errorf("actual: %+v", act)
	}

	// Without the recovery, m2 is still waiting at the end (and so is m3).
	var c build
	a2, _ := c.pool("a", 2, 0), c.pool("b", 1, 1)
	n1, n2 := c.member("n1", "k"), c.member("n2", "k")
	c.ev(1, replay.OpArrive, n1, 0)
	c.ev(2, replay.OpArrive, n2, 0)
	c.status(10, a2, model.StatusBanned)
	c.status(12, a2, model.StatusOffline) // still failed: nobody moves twice
	got = replay.Run(c.in, placement.StrategyPack)
	if got.Moved != 2 || got.StillQueued != 1 {
		t.Errorf("no recovery: %+v", got)
	}
	got = replay.Run(c.in, placement.StrategySpread) // spread had put n2 on b
	if got.Moved != 1 || got.StillQueued != 1 {
		t.Errorf("no recovery: %+v", got)
	}

	// A drain moves members too, counted apart.
	var d build
	a3, _ := d.pool("a", 2, 0), d.pool("b", 2, 1)
	o1 := d.member("o1", "k")
	d.ev(1, replay.OpArrive, o1, 0)
	d.status(5, a3, model.StatusDraining)
	got = replay.Run(d.in, placement.StrategyPack)
	if got.Moved != 0 || got.Drained != 1 || got.PoolsUsed != 2 {
		t.Errorf("drain: %+v", got)
	}
}

// Before Since the replay follows the record; from Since on it decides.
func TestSinceStartsFromTheRecordedFleet(t *testing.T) {
	var b build
	_, p1 := b.pool("a", 2, 0), b.pool("b", 2, 0)
	m1, m2 := b.member("m1", ""), b.member("m2", "")
	b.ev(1, replay.OpArrive, m1, 0)
	b.ev(1, replay.OpPlace, m1, p1) // not where spread would have put it
	b.ev(10, replay.OpArrive, m2, 0)
	b.ev(10, replay.OpPlace, m2, p1)
	b.in.Since = 5e6
	got := replay.Run(b.in, placement.StrategySpread)
	if got.Arrivals != 1 || got.PoolsUsed != 2 || got.PeakPoolsInUse != 2 {
		t.Errorf("spread since 5 s: %+v", got)
	}
	if got.Start.UnixMicro() != 5e6 || got.End.UnixMicro() != 10e6 {
		t.Errorf("window %v – %v", got.Start, got.End)
	}
	act := replay.Actual(b.in)
	if act.Arrivals != 1 || act.PoolsUsed != 1 || act.PeakUtilization != 1 {
		t.Errorf("actual since 5 s: %+v", act)
	}
	// A member waiting at Since joins the replay's queue with its real
	// arrival time.
	var c build
	q := c.pool("a", 1, 0)
	n1, n2 := c.member("n1", ""), c.member("n2", "")
	c.ev(1, replay.OpArrive, n1, 0)
	c.ev(1, replay.OpPlace, n1, q)
	c.ev(2, replay.OpArrive, n2, 0)
	c.ev(8, replay.OpDepart, n1, 0)
	c.in.Since = 5e6
	got = replay.Run(c.in, placement.StrategyPack)
	if got.Placed != 1 || got.WaitP50 != 6 || got.Arrivals != 0 {
		t.Errorf("waiting at since: %+v", got)
	}
	// Two waiting at Since take their turns in the order they came, not
	// in the order they were first named.
	var e build
	q = e.pool("a", 1, 0)
	o1, o2, o3 := e.member("o1", ""), e.member("o2", ""), e.member("o3", "")
	e.ev(1, replay.OpArrive, o1, 0)
	e.ev(1, replay.OpPlace, o1, q)
	e.ev(2, replay.OpArrive, o3, 0)
	e.ev(3, replay.OpArrive, o2, 0)
	e.ev(8, replay.OpDepart, o1, 0)
	e.ev(12, replay.OpDepart, o3, 0)
	e.in.Since = 5e6
	got = replay.Run(e.in, placement.StrategyPack)
	if got.Placed != 2 || got.WaitP50 != 6 || got.WaitMax != 9 { // o3 waits 6 s, o2 9 s
		t.Errorf("two waiting at since: %+v", got)
	}
}

// Members with label constraints wait in their own queue: a blocked vip
// does not hold up the others.
func TestLabelledQueuesDoNotBlockEachOther(t *testing.T) {
	var b build
	b.pool("std", 1, 0)
	vip := b.member("vip", "")
	b.in.Members[vip].Labels = map[string]string{"group": "vip"}
	m1, m2 := b.member("m1", ""), b.member("m2", "")
	b.ev(1, replay.OpArrive, vip, 0)
	b.ev(2, replay.OpArrive, m1, 0)
	b.ev(3, replay.OpArrive, m2, 0)
	b.ev(4, replay.OpDepart, m1, 0)
	got := replay.Run(b.in, placement.StrategyPack)
	if got.Placed != 2 || got.StillQueued != 1 || got.WaitMax != 1 {
		t.Errorf("%+v", got)
	}
}

// A pool's weight is its share of new members: under spread, a pool of
// weight 2 takes three of four where an unweighted one would take two.
func TestWeightedSpread(t *testing.T) {
	var b build
	b.pool("a", 10, 0)
	b.pool("b", 10, 0)
	for i := range int64(4) {
		b.ev(i+1, replay.OpArrive, b.member(fmt.Sprint("m", i), ""), 0)
	}
	near(t, "unweighted peak utilization", replay.Run(b.in, placement.StrategySpread).PeakUtilization, 0.2)
	b.in.Pools[0].Weight = 2
	near(t, "weighted peak utilization", replay.Run(b.in, placement.StrategySpread).PeakUtilization, 0.3)
}
