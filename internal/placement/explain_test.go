package placement_test

import (
	"reflect"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

func TestExplanation_String(t *testing.T) {
	tests := []struct {
		name     string
		pools    []placement.Pool
		affinity map[int64]map[string]int
		req      placement.Request
		want     string
		rule     string
	}{
		{
			name:     "affinity pack",
			pools:    origin([3]int{3, 0, 5}, [3]model.PoolStatus{"", model.StatusOffline}),
			affinity: map[int64]map[string]int{1: {"A": 3}},
			req:      placement.Request{Kind: model.KindServer, AffinityKey: "A"},
			want:     "worker-01 (holds script A, 3/5 used; affinity pack) — 3 pools: 1 offline, 1 full",
			rule:     "affinity: fullest pool already holding script A that has room",
		},
		{
			name:  "new script",
			pools: origin([3]int{0, 0, 0}, [3]model.PoolStatus{model.StatusPaused}),
			req:   placement.Request{Kind: model.KindServer, AffinityKey: "A"},
			want:  "los-angeles (0/5 used; most free room, new script A) — 3 pools: 1 paused",
			rule:  "most free room (no eligible pool holds script A yet)",
		},
		{
			name:  "no key, nothing filtered",
			pools: origin([3]int{1, 2, 3}, [3]model.PoolStatus{}),
			req:   placement.Request{Kind: model.KindServer},
			want:  "worker-01 (1/5 used; most free room) — 3 pools: none filtered",
			rule:  "most free room",
		},
		{
			name:  "spread with exclusion",
			pools: origin([3]int{1, 2, 3}, [3]model.PoolStatus{}),
			req:   placement.Request{Kind: model.KindServer, Strategy: placement.StrategySpread, Exclude: []int64{1}},
			want:  "los-angeles (2/5 used; least loaded) — 3 pools: 1 excluded",
			rule:  "least loaded",
		},
		{
			name:  "refused",
			pools: origin([3]int{5, 0, 5}, [3]model.PoolStatus{"", model.StatusOffline}),
			req:   placement.Request{Kind: model.KindServer, AffinityKey: "A"},
			want:  "no pool can take it — 3 pools: 1 offline, 2 full",
		},
		{
			name: "every reason, in filter order",
			pools: []placement.Pool{
				server(1, "p", 0, 0, model.StatusPaused), server(2, "d", 0, 0, model.StatusDraining),
				server(3, "b", 0, 0, model.StatusBanned), server(4, "c", 0, 0, model.StatusCredentialInvalid),
				server(5, "o", 0, 0, model.StatusOffline), server(6, "f", 0, 5, model.StatusActive),
				server(7, "l", 0, 0, model.StatusActive), server(8, "x", 0, 0, model.StatusActive),
				{ID: 9, Name: "g", Kind: model.KindServer, Capacity: 1, Status: model.StatusActive, Labels: map[string]string{"group": "vip"}},
			},
			req:  placement.Request{Kind: model.KindServer, Labels: map[string]string{"group": "vip"}, Exclude: []int64{9}},
			want: "no pool can take it — 9 pools: 1 paused, 1 draining, 1 banned, 1 credential_invalid, 1 offline, 1 full, 2 group mismatch, 1 excluded",
		},
		{
			name: "unknown status last",
			pools: []placement.Pool{server(1, "r", 0, 0, "retired"), server(2, "q", 0, 0, "quarantined"),
				server(3, "o", 0, 0, model.StatusOffline)},
			req:  placement.Request{Kind: model.KindServer},
			want: "no pool can take it — 3 pools: 1 offline, 1 quarantined, 1 retired",
		},
		{
			name:  "one pool",
			pools: []placement.Pool{server(1, "solo", 0, 5, model.StatusActive)},
			req:   placement.Request{Kind: model.KindServer},
			want:  "no pool can take it — 1 pool: 1 full",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := placement.NewIndex(tt.pools, tt.affinity).Place(tt.req)
			if got := d.Explanation.String(); got != tt.want {
				t.Errorf("String()\n got %q\nwant %q", got, tt.want)
			}
			if got := d.Explanation.Rule; got != tt.rule {
				t.Errorf("Rule %q, want %q", got, tt.rule)
			}
		})
	}
}

func TestExplanation_Top(t *testing.T) {
	pools := []placement.Pool{
		server(1, "w1", 0, 4, model.StatusActive),
		server(2, "w2", 0, 2, model.StatusActive),
		server(3, "w3", 0, 0, model.StatusActive),
		server(4, "w4", 0, 1, model.StatusActive),
	}
	ix := placement.NewIndex(pools, map[int64]map[string]int{1: {"A": 1}, 4: {"B": 1}})
	e := ix.Place(placement.Request{Kind: model.KindServer, AffinityKey: "A"}).Explanation
	want := []placement.Candidate{
		{ID: 1, Name: "w1", Used: 4, Capacity: 5, HoldsKey: true, Score: placement.ScorePack(true, 1), Health: 1},
		{ID: 3, Name: "w3", Used: 0, Capacity: 5, Score: placement.ScorePack(false, 5), Health: 1},
		{ID: 4, Name: "w4", Used: 1, Capacity: 5, Score: placement.ScorePack(false, 4), Health: 1},
	}
	if len(e.Top) != len(want) {
		t.Fatalf("top %+v", e.Top)
	}
	for i := range want {
		if e.Top[i] != want[i] {
			t.Errorf("top[%d] = %+v, want %+v", i, e.Top[i], want[i])
		}
	}
	if e.WinnerID != 1 || e.Winner != "w1" || e.Score != 2 || e.Eligible != 4 || !e.Placed() {
		t.Errorf("winner %+v", e)
	}
}

func TestExplanation_Why(t *testing.T) {
	tests := []struct {
		name     string
		pools    []placement.Pool
		affinity map[int64]map[string]int
		req      placement.Request
		want     model.Why
	}{
		{
			name:     "affinity pack",
			pools:    origin([3]int{3, 0, 5}, [3]model.PoolStatus{"", model.StatusOffline}),
			affinity: map[int64]map[string]int{1: {"A": 3}},
			req:      placement.Request{Kind: model.KindServer, AffinityKey: "A"},
			want: model.Why{Kind: model.KindServer, Considered: 3, Filtered: map[string]int{"offline": 1, "full": 1},
				Pool: "worker-01", Used: 3, Capacity: 5, Rule: model.RuleAffinity, AffinityKey: "A"},
		},
		{
			name:  "new script",
			pools: origin([3]int{0, 0, 0}, [3]model.PoolStatus{model.StatusPaused}),
			req:   placement.Request{Kind: model.KindServer, AffinityKey: "A"},
			want: model.Why{Kind: model.KindServer, Considered: 3, Filtered: map[string]int{"paused": 1},
				Pool: "los-angeles", Capacity: 5, Rule: model.RuleMostFreeNewKey, AffinityKey: "A"},
		},
		{
			name:  "no key, nothing filtered",
			pools: origin([3]int{1, 2, 3}, [3]model.PoolStatus{}),
			req:   placement.Request{Kind: model.KindServer},
			want:  model.Why{Kind: model.KindServer, Considered: 3, Pool: "worker-01", Used: 1, Capacity: 5, Rule: model.RuleMostFree},
		},
		{
			name:  "spread with exclusion",
			pools: origin([3]int{1, 2, 3}, [3]model.PoolStatus{}),
			req:   placement.Request{Kind: model.KindServer, Strategy: placement.StrategySpread, Exclude: []int64{1}},
			want: model.Why{Kind: model.KindServer, Considered: 3, Filtered: map[string]int{"excluded": 1},
				Pool: "los-angeles", Used: 2, Capacity: 5, Rule: model.RuleLeastLoaded},
		},
		{
			name: "every cause, none chosen",
			pools: []placement.Pool{
				server(1, "p", 0, 0, model.StatusPaused), server(2, "d", 0, 0, model.StatusDraining),
				server(3, "b", 0, 0, model.StatusBanned), server(4, "c", 0, 0, model.StatusCredentialInvalid),
				server(5, "o", 0, 0, model.StatusOffline), server(6, "f", 0, 5, model.StatusActive),
				server(7, "l", 0, 0, model.StatusActive),
				{ID: 8, Name: "m", Kind: model.KindServer, Capacity: 1, Status: model.StatusActive, Labels: map[string]string{"zone": "b"}},
				{ID: 9, Name: "g", Kind: model.KindServer, Capacity: 1, Status: model.StatusActive, Labels: map[string]string{"group": "vip"}},
			},
			req: placement.Request{Kind: model.KindServer, Labels: map[string]string{"group": "vip"}, Exclude: []int64{9}},
			want: model.Why{Kind: model.KindServer, Considered: 9, Filtered: map[string]int{
				"paused": 1, "draining": 1, "banned": 1, "credential_invalid": 1, "offline": 1, "full": 1,
				"group_mismatch": 2, "excluded": 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := placement.NewIndex(tt.pools, tt.affinity).Place(tt.req).Explanation.Why()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Why()\n got %+v\nwant %+v", got, tt.want)
			}
			if got.Placed() != (tt.want.Pool != "") {
				t.Errorf("Placed() = %v", got.Placed())
			}
		})
	}
	// Every reason placement knows is a cause the model (and so the
	// console's catalogue) knows, in the same order.
	var causes []string
	for _, r := range placement.Reasons() {
		e := placement.Explanation{Filtered: map[placement.Reason]int{r: 1}}
		for c := range e.Why().Filtered {
			causes = append(causes, c)
		}
	}
	if !reflect.DeepEqual(causes, model.WhyCauses()) {
		t.Errorf("causes %v, model has %v", causes, model.WhyCauses())
	}
}
