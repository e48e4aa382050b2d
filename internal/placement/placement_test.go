package placement_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// server is a server pool of capacity 5.
func server(id int64, name string, priority, used int, status model.PoolStatus) placement.Pool {
	return placement.Pool{ID: id, Name: name, Kind: model.KindServer, Capacity: 5, Used: used, Status: status, Priority: priority}
}

// origin is the three servers of the origin report, in operator order.
func origin(used [3]int, status [3]model.PoolStatus) []placement.Pool {
	for i := range status {
		if status[i] == "" {
			status[i] = model.StatusActive
		}
	}
	return []placement.Pool{
		server(1, "worker-01", 1, used[0], status[0]),
		server(2, "los-angeles", 2, used[1], status[1]),
		server(3, "manila", 3, used[2], status[2]),
	}
}

// placeAll places n members with key, committing each, and returns the
// names of the pools chosen ("" when refused).
func placeAll(ix *placement.Index, req placement.Request, n int) []string {
	var got []string
	for range n {
		d := ix.Place(req)
		if d.Pool == nil {
			got = append(got, "")
			continue
		}
		got = append(got, d.Pool.Name)
		ix.Commit(d.Pool.ID, req.AffinityKey)
	}
	return got
}

func repeat(name string, n int) []string { return slices.Repeat([]string{name}, n) }

func TestPlace_OriginScenarios(t *testing.T) {
	scriptA := placement.Request{Kind: model.KindServer, AffinityKey: "A"}
	tests := []struct {
		name     string
		pools    []placement.Pool
		affinity map[int64]map[string]int
		n        int
		want     []string
	}{
		{
			name:  "1 new script fills one server before the next",
			pools: origin([3]int{}, [3]model.PoolStatus{}),
			n:     6,
			want:  append(repeat("worker-01", 5), "los-angeles"),
		},
		{
			name: "1 new script goes to the emptiest server",
			pools: []placement.Pool{
				server(1, "worker-01", 1, 1, model.StatusActive),
				server(2, "los-angeles", 2, 0, model.StatusActive),
				server(3, "manila", 3, 3, model.StatusActive),
			},
			affinity: map[int64]map[string]int{1: {"B": 1}, 3: {"C": 3}},
			n:        6,
			want:     append(repeat("los-angeles", 5), "worker-01"),
		},
		{
			name: "1 equal priority: ties by name",
			pools: []placement.Pool{
				server(1, "worker-01", 0, 0, model.StatusActive),
				server(2, "los-angeles", 0, 0, model.StatusActive),
				server(3, "manila", 0, 0, model.StatusActive),
			},
			n:    6,
			want: append(repeat("los-angeles", 5), "manila"),
		},
		{
			name:     "2 servers holding the script fill, fullest first, before manila",
			pools:    origin([3]int{3, 4, 0}, [3]model.PoolStatus{}),
			affinity: map[int64]map[string]int{1: {"A": 3}, 2: {"A": 2, "B": 2}},
			n:        5,
			want:     []string{"los-angeles", "worker-01", "worker-01", "manila", "manila"},
		},
		{
			name:     "2 holder full: next script-less server with most room",
			pools:    origin([3]int{5, 1, 0}, [3]model.PoolStatus{}),
			affinity: map[int64]map[string]int{1: {"A": 5}, 2: {"B": 1}},
			n:        2,
			want:     []string{"manila", "manila"},
		},
		{
			name:     "3 paused server is skipped",
			pools:    origin([3]int{2, 0, 0}, [3]model.PoolStatus{model.StatusPaused}),
			affinity: map[int64]map[string]int{1: {"A": 2}},
			n:        6,
			want:     append(repeat("los-angeles", 5), "manila"),
		},
		{
			name:  "3 offline server is skipped",
			pools: origin([3]int{}, [3]model.PoolStatus{model.StatusOffline}),
			n:     6,
			want:  append(repeat("los-angeles", 5), "manila"),
		},
		{
			name:  "all full",
			pools: origin([3]int{5, 5, 5}, [3]model.PoolStatus{}),
			n:     1,
			want:  []string{""},
		},
		{
			name:  "capacity runs out",
			pools: origin([3]int{4, 5, 3}, [3]model.PoolStatus{}),
			n:     4,
			want:  []string{"manila", "manila", "worker-01", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := placement.NewIndex(tt.pools, tt.affinity)
			if got := placeAll(ix, scriptA, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("placed in %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlace_AllFullExplanation(t *testing.T) {
	ix := placement.NewIndex(origin([3]int{5, 5, 5}, [3]model.PoolStatus{}), nil)
	d := ix.Place(placement.Request{Kind: model.KindServer, AffinityKey: "A"})
	if d.Pool != nil {
		t.Fatalf("placed in %s, want none", d.Pool.Name)
	}
	if got, want := d.Explanation.Summary(), "3 pools: 3 full"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got, want := d.Explanation.String(), "no pool can take it — 3 pools: 3 full"; got != want {
		t.Errorf("explanation %q, want %q", got, want)
	}
}

func TestPlace_Constraints(t *testing.T) {
	team := func(id int64, name string, used int, labels map[string]string) placement.Pool {
		return placement.Pool{ID: id, Name: name, Kind: model.KindTeam, Capacity: 5, Used: used,
			Status: model.StatusActive, Labels: labels}
	}
	pools := []placement.Pool{
		team(1, "vip-a", 4, map[string]string{"group": "vip", "region": "us"}),
		team(2, "vip-b", 1, map[string]string{"group": "vip", "region": "eu"}),
		team(3, "vip-full", 5, map[string]string{"group": "vip"}),
		team(4, "std-a", 0, map[string]string{"group": "std"}),
		team(5, "bare", 0, nil),
		server(6, "some-server", 0, 0, model.StatusActive),
	}
	tests := []struct {
		name     string
		labels   map[string]string
		exclude  []int64
		want     string
		filtered map[placement.Reason]int
		eligible int
	}{
		{"no constraint: only pools without a group (isolation)", nil, nil, "bare",
			map[placement.Reason]int{placement.ReasonFull: 1, placement.ReasonGroupMismatch: 3}, 1},
		{"group vip only vip pools", map[string]string{"group": "vip"}, nil, "vip-b",
			map[placement.Reason]int{placement.ReasonFull: 1, placement.ReasonGroupMismatch: 2}, 2},
		{"two labels", map[string]string{"group": "vip", "region": "us"}, nil, "vip-a",
			map[placement.Reason]int{placement.ReasonFull: 1, placement.ReasonLabelMismatch: 3}, 1},
		{"unknown group", map[string]string{"group": "gold"}, nil, "",
			map[placement.Reason]int{placement.ReasonFull: 1, placement.ReasonGroupMismatch: 4}, 0},
		{"exclude the best", map[string]string{"group": "vip"}, []int64{2}, "vip-a",
			map[placement.Reason]int{placement.ReasonFull: 1, placement.ReasonGroupMismatch: 2, placement.ReasonExcluded: 1}, 1},
		{"exclusions counted once, after earlier filters", map[string]string{"group": "vip"}, []int64{2, 2, 3, 4, 6, 99}, "vip-a",
			map[placement.Reason]int{placement.ReasonFull: 1, placement.ReasonGroupMismatch: 2, placement.ReasonExcluded: 1}, 1},
		{"everything excluded", map[string]string{"group": "vip"}, []int64{1, 2}, "",
			map[placement.Reason]int{placement.ReasonFull: 1, placement.ReasonGroupMismatch: 2, placement.ReasonExcluded: 2}, 0},
	}
	ix := placement.NewIndex(pools, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ix.Place(placement.Request{Kind: model.KindTeam, Labels: tt.labels, Exclude: tt.exclude})
			got := ""
			if d.Pool != nil {
				got = d.Pool.Name
			}
			if got != tt.want {
				t.Errorf("placed in %q, want %q (%s)", got, tt.want, d.Explanation)
			}
			if !maps.Equal(d.Explanation.Filtered, tt.filtered) {
				t.Errorf("filtered %v, want %v", d.Explanation.Filtered, tt.filtered)
			}
			if d.Explanation.Considered != 5 || d.Explanation.Eligible != tt.eligible {
				t.Errorf("considered %d eligible %d, want 5 and %d", d.Explanation.Considered, d.Explanation.Eligible, tt.eligible)
			}
		})
	}
}

func TestPlace_ConstraintPartitionFollowsChanges(t *testing.T) {
	vip := map[string]string{"group": "vip"}
	ix := placement.NewIndex([]placement.Pool{
		{ID: 1, Name: "a", Kind: model.KindTeam, Capacity: 2, Status: model.StatusActive, Labels: vip},
	}, nil)
	req := placement.Request{Kind: model.KindTeam, Labels: vip}
	if got := placeAll(ix, req, 3); !slices.Equal(got, []string{"a", "a", ""}) {
		t.Fatalf("placed in %q", got)
	}
	ix.Upsert(placement.Pool{ID: 2, Name: "b", Kind: model.KindTeam, Capacity: 1, Status: model.StatusActive, Labels: vip})
	ix.Upsert(placement.Pool{ID: 3, Name: "c", Kind: model.KindTeam, Capacity: 9, Status: model.StatusActive})
	if got := placeAll(ix, req, 2); !slices.Equal(got, []string{"b", ""}) {
		t.Fatalf("after adding pools, placed in %q", got)
	}
	ix.Release(1, "")
	ix.Upsert(placement.Pool{ID: 3, Name: "c", Kind: model.KindTeam, Capacity: 9, Status: model.StatusActive, Labels: vip})
	if got := placeAll(ix, req, 1); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("after relabelling, placed in %q", got)
	}
}

func TestPlace_PriorityTieBreak(t *testing.T) {
	tests := []struct {
		name     string
		strategy placement.Strategy
		key      string
		pools    []placement.Pool
		affinity map[int64]map[string]int
		want     string
	}{
		{"most free: lower priority first", placement.StrategyPack, "", []placement.Pool{
			server(1, "a", 2, 1, model.StatusActive), server(2, "z", 1, 1, model.StatusActive)}, nil, "z"},
		{"most free beats priority", placement.StrategyPack, "", []placement.Pool{
			server(1, "a", 9, 0, model.StatusActive), server(2, "z", 1, 1, model.StatusActive)}, nil, "a"},
		{"affinity: lower priority first", placement.StrategyPack, "A", []placement.Pool{
			server(1, "a", 2, 3, model.StatusActive), server(2, "z", 1, 3, model.StatusActive)},
			map[int64]map[string]int{1: {"A": 1}, 2: {"A": 3}}, "z"},
		{"affinity: then name", placement.StrategyPack, "A", []placement.Pool{
			server(1, "b", 1, 3, model.StatusActive), server(2, "a", 1, 3, model.StatusActive)},
			map[int64]map[string]int{1: {"A": 1}, 2: {"A": 3}}, "a"},
		{"spread: lower priority first", placement.StrategySpread, "", []placement.Pool{
			server(1, "a", 2, 2, model.StatusActive), server(2, "z", 1, 2, model.StatusActive)}, nil, "z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := placement.NewIndex(tt.pools, tt.affinity)
			d := ix.Place(placement.Request{Kind: model.KindServer, AffinityKey: tt.key, Strategy: tt.strategy})
			if d.Pool == nil || d.Pool.Name != tt.want {
				t.Errorf("got %v, want %s", d.Explanation, tt.want)
			}
		})
	}
}

func TestPlace_Spread(t *testing.T) {
	pool := func(id int64, name string, prio, used, capacity int) placement.Pool {
		return placement.Pool{ID: id, Name: name, Kind: model.KindServer, Capacity: capacity, Used: used,
			Status: model.StatusActive, Priority: prio}
	}
	ix := placement.NewIndex([]placement.Pool{
		pool(1, "big", 0, 30, 100), // 0.3
		pool(2, "small", 0, 1, 4),  // 0.25
		pool(3, "tiny", 0, 1, 5),   // 0.2
		pool(4, "half", 0, 1, 2),   // 0.5, holds A: no matter for spread
	}, map[int64]map[string]int{4: {"A": 1}})
	req := placement.Request{Kind: model.KindServer, AffinityKey: "A", Strategy: placement.StrategySpread}
	want := []string{"tiny", "small", "big", "big"} // tiny 0.4, small 0.5, big 0.31
	if got := placeAll(ix, req, 4); !slices.Equal(got, want) {
		t.Errorf("placed in %q, want %q", got, want)
	}
	d := ix.Place(req)
	if got := d.Explanation.Rule; got != "least loaded" {
		t.Errorf("rule %q", got)
	}
	if s := d.Explanation.Score; s != placement.ScoreSpread(d.Pool.Used, d.Pool.Capacity) {
		t.Errorf("score %v", s)
	}
}

func TestPlace_MarkFull(t *testing.T) {
	ix := placement.NewIndex(origin([3]int{}, [3]model.PoolStatus{}), nil)
	req := placement.Request{Kind: model.KindServer}
	ix.MarkFull(1)
	if d := ix.Place(req); d.Pool.Name != "los-angeles" || d.Explanation.Filtered[placement.ReasonFull] != 1 {
		t.Errorf("after MarkFull: %v", d.Explanation)
	}
	ix.Commit(1, "")
	ix.Release(1, "")
	if d := ix.Place(req); d.Pool.Name != "los-angeles" {
		t.Errorf("mark lost by Commit/Release: %v", d.Explanation)
	}
	p, _ := ix.Pool(1)
	ix.Upsert(p)
	if d := ix.Place(req); d.Pool.Name != "worker-01" {
		t.Errorf("after Upsert: %v", d.Explanation)
	}
}

func TestIndex_Bookkeeping(t *testing.T) {
	ix := placement.NewIndex(origin([3]int{1, 0, 0}, [3]model.PoolStatus{}), map[int64]map[string]int{1: {"A": 1}, 9: {"A": 3}})
	ix.Commit(1, "A")
	ix.Commit(1, "B")
	ix.Commit(42, "A") // unknown: ignored
	if p, _ := ix.Pool(1); p.Used != 3 || ix.AffinityCount(1, "A") != 2 || ix.AffinityCount(1, "B") != 1 {
		t.Fatalf("after commits: used %d, A %d, B %d", p.Used, ix.AffinityCount(1, "A"), ix.AffinityCount(1, "B"))
	}
	ix.Upsert(server(1, "worker-01", 1, 3, model.StatusDraining))
	if ix.AffinityCount(1, "A") != 2 {
		t.Fatal("Upsert lost the affinity counts")
	}
	ix.Release(1, "B")
	ix.Release(1, "B")
	ix.Release(2, "A")
	if p, _ := ix.Pool(1); p.Used != 1 || ix.AffinityCount(1, "B") != 0 {
		t.Fatalf("after releases: used %d, B %d", p.Used, ix.AffinityCount(1, "B"))
	}
	if p, _ := ix.Pool(2); p.Used != 0 {
		t.Fatalf("release below zero: used %d", p.Used)
	}
	ix.Remove(1)
	ix.Remove(1)
	if _, ok := ix.Pool(1); ok || ix.Len() != 2 {
		t.Fatal("Remove kept the pool")
	}
	d := ix.Place(placement.Request{Kind: model.KindServer, AffinityKey: "A"})
	if d.Explanation.Considered != 2 || d.Pool.Name != "los-angeles" {
		t.Errorf("after Remove: %v", d.Explanation)
	}
	if d := ix.Place(placement.Request{Kind: model.KindTeam}); d.Pool != nil || d.Explanation.String() != "no pool can take it — 0 pools" {
		t.Errorf("no teams: %v", d.Explanation)
	}
}

func TestPlace_DoesNotShareInput(t *testing.T) {
	labels := map[string]string{"group": "vip"}
	p := server(1, "a", 0, 0, model.StatusActive)
	p.Labels = labels
	ix := placement.NewIndex([]placement.Pool{p}, nil)
	labels["group"] = "std"
	if d := ix.Place(placement.Request{Kind: model.KindServer, Labels: map[string]string{"group": "vip"}}); d.Pool == nil {
		t.Errorf("caller's map changed the index: %v", d.Explanation)
	}
}

func TestParseStrategy(t *testing.T) {
	tests := []struct {
		in      string
		want    placement.Strategy
		wantErr bool
	}{
		{"", placement.StrategyPack, false},
		{"pack", placement.StrategyPack, false},
		{"spread", placement.StrategySpread, false},
		{"Spread", "", true},
		{"binpack", "", true},
	}
	for _, tt := range tests {
		got, err := placement.ParseStrategy(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseStrategy(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestScores(t *testing.T) {
	// Holders: fuller is better; all holders beat all non-holders.
	if !(placement.ScorePack(true, 1) > placement.ScorePack(true, 2) &&
		placement.ScorePack(true, 1000) > placement.ScorePack(false, 1000) &&
		placement.ScorePack(false, 5) > placement.ScorePack(false, 4)) {
		t.Error("ScorePack order")
	}
	if placement.ScorePack(true, 1) != 2 || placement.ScorePack(false, 1) != 0.5 || placement.ScorePack(true, 0) != 0 {
		t.Error("ScorePack range")
	}
	if placement.ScoreSpread(0, 5) != 1 || placement.ScoreSpread(5, 5) != 0 || placement.ScoreSpread(1, 0) != 0 ||
		!(placement.ScoreSpread(1, 5) > placement.ScoreSpread(1, 4)) {
		t.Error("ScoreSpread")
	}
}

func TestFromModel(t *testing.T) {
	m := model.Pool{ID: 7, Name: "manila", Kind: model.KindServer, Capacity: 5, Used: 2, Status: model.StatusActive,
		Labels: map[string]string{"region": "ph"}, Priority: 3, ProviderType: "sftp"}
	got := placement.FromModel(m)
	want := placement.Pool{ID: 7, Name: "manila", Kind: model.KindServer, Capacity: 5, Used: 2, Status: model.StatusActive,
		Labels: m.Labels, Priority: 3}
	if got.ID != want.ID || got.Name != want.Name || got.Kind != want.Kind || got.Capacity != want.Capacity ||
		got.Used != want.Used || got.Status != want.Status || got.Priority != want.Priority || !maps.Equal(got.Labels, want.Labels) {
		t.Errorf("FromModel = %+v, want %+v", got, want)
	}
	if got.Free() != 3 {
		t.Errorf("Free = %d", got.Free())
	}
}

func TestNewIndex_LastListingWins(t *testing.T) {
	ix := placement.NewIndex([]placement.Pool{
		server(1, "old", 0, 0, model.StatusActive),
		server(2, "other", 0, 4, model.StatusActive),
		server(1, "new", 0, 5, model.StatusActive),
	}, nil)
	d := ix.Place(placement.Request{Kind: model.KindServer})
	if ix.Len() != 2 || d.Pool == nil || d.Pool.Name != "other" || d.Explanation.Summary() != "2 pools: 1 full" {
		t.Errorf("len %d, %v", ix.Len(), d.Explanation)
	}
}
