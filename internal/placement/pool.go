package placement

import (
	"fmt"
	"maps"

	"github.com/berthhq/berth/internal/model"
)

// Pool is the part of a [model.Pool] that placement looks at.
type Pool struct {
	ID       int64
	Name     string
	Kind     model.Kind
	Capacity int
	Used     int
	Status   model.PoolStatus
	// Labels are the pool's labels (e.g. group=vip). Maps handed out by the
	// index are shared with it and must not be modified.
	Labels map[string]string
	// Priority is the operator's order; lower goes first on ties.
	Priority int
	// Weight is the pool's share of new members relative to its peers
	// (docs/design.md, "Placement"): spread fills a pool of weight w until
	// its load is w times the others', pack starts a new key where free
	// room times weight is largest. Values below 1 mean 1.
	Weight int
}

// weight is the pool's weight, at least 1.
func (p Pool) weight() int64 { return int64(max(p.Weight, 1)) }

// Group isolation (docs/design.md, "Placement rules"): a pool with a
// GroupLabel takes only requests that name its group, unless it also
// carries OpenLabel=true, which lets it take requests without a group too.
const (
	// GroupLabel is the label key that isolates a pool for one group.
	GroupLabel = "group"
	// OpenLabel, set to "true" on a pool with a group, lets the pool take
	// requests that name no group as well.
	OpenLabel = "open"
)

// closed reports whether a pool with these labels refuses requests that
// name no group: it has a group and is not open.
func closed(labels map[string]string) bool {
	_, grouped := labels[GroupLabel]
	return grouped && labels[OpenLabel] != "true"
}

// Accepts reports whether a pool with labels poolLabels may take a request
// with label constraints want: the pool carries every key=value of want,
// and a pool with a group takes a request without one only when open.
// It is the label filter of [Index.Place] for one pool.
func Accepts(poolLabels, want map[string]string) bool {
	for k, v := range want {
		if pv, ok := poolLabels[k]; !ok || pv != v {
			return false
		}
	}
	if _, ok := want[GroupLabel]; !ok && closed(poolLabels) {
		return false
	}
	return true
}

// FromModel returns the placement view of p.
func FromModel(p model.Pool) Pool {
	return Pool{
		ID:       p.ID,
		Name:     p.Name,
		Kind:     p.Kind,
		Capacity: p.Capacity,
		Used:     p.Used,
		Status:   p.Status,
		Labels:   p.Labels,
		Priority: p.Priority,
		Weight:   p.Weight,
	}
}

// Free is the room left in the pool, never negative.
func (p Pool) Free() int {
	if p.Used >= p.Capacity {
		return 0
	}
	return p.Capacity - p.Used
}

// normalized returns p with negative counts raised to zero and its own copy
// of the labels, so the index never shares a map with its caller's input.
func (p Pool) normalized() Pool {
	if p.Capacity < 0 {
		p.Capacity = 0
	}
	if p.Used < 0 {
		p.Used = 0
	}
	p.Labels = maps.Clone(p.Labels)
	return p
}

// Strategy is how a pool is chosen among the eligible ones.
type Strategy string

const (
	// StrategyPack fills one pool before the next is used and keeps members
	// with the same affinity key together. It is the default.
	StrategyPack Strategy = "pack"
	// StrategySpread puts each member into the least loaded pool.
	StrategySpread Strategy = "spread"
)

// Strategies lists every strategy.
func Strategies() []Strategy { return []Strategy{StrategyPack, StrategySpread} }

// ParseStrategy validates a strategy given by a user; "" means [StrategyPack].
func ParseStrategy(s string) (Strategy, error) {
	switch Strategy(s) {
	case "", StrategyPack:
		return StrategyPack, nil
	case StrategySpread:
		return StrategySpread, nil
	}
	return "", fmt.Errorf("unknown placement strategy %q (want pack or spread)", s)
}

// effective maps the zero value, and anything unknown, to the default.
func (s Strategy) effective() Strategy {
	if s == StrategySpread {
		return StrategySpread
	}
	return StrategyPack
}

// Request asks for a pool for one member.
type Request struct {
	// Kind is the kind of pool the member goes into.
	Kind model.Kind
	// AffinityKey groups members that belong together, e.g. a script id;
	// "" means none.
	AffinityKey string
	// Labels are constraints: the pool must carry every key=value.
	Labels map[string]string
	// Exclude lists pools to skip: the pool being left, a pool that just
	// failed. It is expected to be short.
	Exclude []int64
	// Strategy chooses among eligible pools; "" (and any unknown value)
	// means [StrategyPack]. Validate user input with [ParseStrategy].
	Strategy Strategy
}

// Decision is the answer to a [Request].
type Decision struct {
	// Pool is a copy of the chosen pool, nil when no pool can take the member.
	Pool *Pool
	// Explanation says why, placed or not.
	Explanation Explanation
}
