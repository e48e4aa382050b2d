package alloc

import (
	"context"

	"github.com/berthhq/berth/internal/crashpoint"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/store"
)

// setPlan is one member's seat in a set placed together.
type setPlan struct {
	i    int // the request's index
	pool placement.Pool
	why  string // the explanation, for history
	data model.Why
}

// placeSet places a set of requests the fast way, for placeBulk (imports)
// and redeemBulk: the index decides for each in order (each choice
// committed to it, so the next one sees it), then every chosen pool's seats
// are reserved with one guarded statement (store.PoolReserveMany: a pool
// takes all it was asked for or none). It returns the plans the database
// accepted, in request order. A request the index has no room for, or whose
// pool the database refused (another request or replica took the room; its
// index change is taken back), is left out: the one-by-one path, placeTx,
// learns the pool's truth, checks the database for room and queues. Runs
// in a placer's batch.
func (s *Service) placeSet(ctx context.Context, tx *store.Tx, ix *placement.Index, reqs []placement.Request) ([]setPlan, error) {
	var plans []setPlan
	need := map[int64]int{}
	for i, r := range reqs {
		d := metrics.TimePlace(ix.Place, r)
		if d.Pool == nil {
			continue
		}
		ix.Commit(d.Pool.ID, r.AffinityKey)
		need[d.Pool.ID]++
		plans = append(plans, setPlan{i: i, pool: *d.Pool, why: d.Explanation.String(), data: d.Explanation.Why()})
	}
	if len(plans) == 0 {
		return nil, nil
	}
	refused, err := tx.PoolReserveMany(ctx, need)
	if err != nil {
		return nil, err
	}
	crashpoint.Hit("place.after-reserve")
	kept := plans[:0]
	for _, pl := range plans {
		if refused[pl.pool.ID] {
			ix.Release(pl.pool.ID, reqs[pl.i].AffinityKey)
			continue
		}
		kept = append(kept, pl)
	}
	return kept, nil
}
