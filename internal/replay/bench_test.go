package replay_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/replay"
)

// generate builds a recorded fleet of about n events: 1,000 server pools of
// capacity 50 (one in ten labelled group=vip), members of 200 scripts (one
// in twenty asking for vip) arriving about once a second and staying about
// 11 hours on average, so the fleet runs near full and some wait; every few
// minutes a pool is resized, and now and then one fails for ten minutes.
// Each arrival is recorded with a placement on a random pool with room
// (or any, when ten tries find none), for Actual.
func generate(n int) replay.Input {
	r := rand.New(rand.NewPCG(uint64(n), 14))
	const pools, scripts = 1000, 200
	var in replay.Input
	for i := range pools {
		p := replay.Pool{Name: fmt.Sprintf("server-%04d", i), Kind: model.KindServer, Priority: r.IntN(3)}
		if i%10 == 0 {
			p.Labels = map[string]string{"group": "vip"}
		}
		in.Pools = append(in.Pools, p)
		in.Events = append(in.Events, replay.Event{Op: replay.OpPoolAdd, Pool: int32(i), N: 50, Status: model.StatusActive})
	}
	members := (n - pools) * 100 / 301 // arrive + place + depart each, and a few pool changes
	var ev []replay.Event
	t := int64(0)
	for m := range members {
		mb := replay.Member{Name: fmt.Sprintf("acct-%07d", m), Kind: model.KindServer, AffinityKey: fmt.Sprintf("script-%d", r.IntN(scripts))}
		if r.IntN(20) == 0 {
			mb.Labels = map[string]string{"group": "vip"}
		}
		in.Members = append(in.Members, mb)
		t += int64(r.ExpFloat64() * 1e6)
		stay := int64(r.ExpFloat64() * 40_000e6)
		ev = append(ev,
			replay.Event{At: t, Op: replay.OpArrive, Member: int32(m)},
			replay.Event{At: t, Op: replay.OpPlace, Member: int32(m)},
			replay.Event{At: t + stay, Op: replay.OpDepart, Member: int32(m)})
		switch p := int32(r.IntN(pools)); {
		case m%1000 == 0:
			ev = append(ev, replay.Event{At: t, Op: replay.OpStatus, Pool: p, Status: model.StatusOffline},
				replay.Event{At: t + 600e6, Op: replay.OpStatus, Pool: p, Status: model.StatusActive})
		case m%100 == 0:
			ev = append(ev, replay.Event{At: t, Op: replay.OpCapacity, Pool: p, N: int32(45 + r.IntN(11))})
		}
	}
	slices.SortStableFunc(ev, func(a, b replay.Event) int { return cmp.Compare(a.At, b.At) })
	// Record where each arrival went: a random pool with room.
	used, capacity := make([]int32, pools), make([]int32, pools)
	for i := range capacity {
		capacity[i] = 50
	}
	where := make([]int32, members)
	for i := range ev {
		e := &ev[i]
		switch e.Op {
		case replay.OpCapacity:
			capacity[e.Pool] = e.N
		case replay.OpPlace:
			p := int32(r.IntN(pools))
			for try := 0; try < 10 && used[p] >= capacity[p]; try++ {
				p = int32(r.IntN(pools))
			}
			e.Pool, where[e.Member] = p, p
			used[p]++
		case replay.OpDepart:
			used[where[e.Member]]--
		}
	}
	in.Events = append(in.Events, ev...)
	return in
}

// BenchmarkReplay replays a million events under each strategy, and
// measures the record (Actual); events/s is the rate.
func BenchmarkReplay(b *testing.B) {
	in := generate(1_000_000)
	b.Logf("%d events, %d members, %d pools", len(in.Events), len(in.Members), len(in.Pools))
	run := map[string]func() replay.Metrics{
		"actual": func() replay.Metrics { return replay.Actual(in) },
		"pack":   func() replay.Metrics { return replay.Run(in, placement.StrategyPack) },
		"spread": func() replay.Metrics { return replay.Run(in, placement.StrategySpread) },
	}
	for _, name := range []string{"actual", "pack", "spread"} {
		b.Run(name, func(b *testing.B) {
			var m replay.Metrics
			for b.Loop() {
				m = run[name]()
			}
			b.ReportMetric(float64(len(in.Events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.Logf("%s: %+v", name, m)
		})
	}
}

// TestGeneratedFleet checks the benchmark's fleet is a fair one: both
// strategies place nearly everyone, pack on fewer pools than spread.
func TestGeneratedFleet(t *testing.T) {
	in := generate(100_000)
	pack, spread := replay.Run(in, placement.StrategyPack), replay.Run(in, placement.StrategySpread)
	if pack.Placed < pack.Arrivals*9/10 || spread.Placed < spread.Arrivals*9/10 {
		t.Errorf("too few placed: pack %+v, spread %+v", pack, spread)
	}
	if pack.Moved == 0 || spread.Moved == 0 {
		t.Errorf("no pool failed with members: pack %+v, spread %+v", pack, spread)
	}
	if pack.MeanUtilization <= spread.MeanUtilization {
		t.Errorf("pack mean utilization %.3f, spread %.3f", pack.MeanUtilization, spread.MeanUtilization)
	}
}
