package alloc

import (
	"context"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// Stored strategies (docs/design.md, "Placement"): the strategy of a pool
// kind and group is a setting, so every placement of a member (import,
// redeem, queue drain, failover, move) uses the same one. A batch request
// that names a strategy uses it for that request only; the members it
// queues are placed later under the stored strategy.

// strategyTTL bounds how long a replica keeps the settings another replica
// changed; this replica's own changes apply at once.
const strategyTTL = 5 * time.Second

type strategyKey struct {
	kind  model.Kind
	group string
}

// strategyCache holds the stored strategies, read at most every
// strategyTTL.
type strategyCache struct {
	mu   sync.Mutex
	at   time.Time
	byKG map[strategyKey]placement.Strategy
}

// storedStrategy is the strategy for a member of kind with these label
// constraints: its group's setting, else its kind's, else pack.
func (s *Service) storedStrategy(ctx context.Context, q *store.Queries, kind model.Kind, labels map[string]string) (placement.Strategy, error) {
	c := &s.strategies
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKG == nil || time.Since(c.at) >= strategyTTL {
		list, err := q.PlacementSettings(ctx)
		if err != nil {
			return "", err
		}
		c.byKG = make(map[strategyKey]placement.Strategy, len(list))
		for _, st := range list {
			c.byKG[strategyKey{st.Kind, st.Group}] = placement.Strategy(st.Strategy)
		}
		c.at = time.Now()
	}
	if g, ok := labels[placement.GroupLabel]; ok {
		if st, ok := c.byKG[strategyKey{kind, g}]; ok {
			return st, nil
		}
	}
	if st, ok := c.byKG[strategyKey{kind, ""}]; ok {
		return st, nil
	}
	return placement.StrategyPack, nil
}

// forgetStrategies makes the next placement read the settings again.
func (s *Service) forgetStrategies() {
	s.strategies.mu.Lock()
	s.strategies.byKG = nil
	s.strategies.mu.Unlock()
}

// PlacementSettings lists the stored strategies.
func (s *Service) PlacementSettings(ctx context.Context) ([]model.PlacementSetting, error) {
	return s.st.Reader().PlacementSettings(ctx)
}

// SetPlacementSetting stores the strategy of a kind and group ("" for the
// kind's default); an empty strategy removes the setting. It returns the
// setting as it was. Members already queued are placed under it at the
// next drain; nobody placed is moved.
func (s *Service) SetPlacementSetting(ctx context.Context, set model.PlacementSetting, actor string) (before model.PlacementSetting, err error) {
	if !set.Kind.Valid() {
		return before, Invalidf("kind %q: use server or team", set.Kind)
	}
	if len(set.Group) > 255 {
		return before, Invalidf("group is %d bytes; the limit is 255", len(set.Group))
	}
	if set.Strategy != "" {
		st, err := placement.ParseStrategy(set.Strategy)
		if err != nil {
			return before, Invalidf("%v; or \"\" to remove the setting", err)
		}
		set.Strategy = string(st)
	}
	set.UpdatedBy = actor
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		before, err = tx.PlacementSettingSet(ctx, set)
		return err
	})
	s.forgetStrategies()
	return before, err
}
