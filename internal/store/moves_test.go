package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A drain's counts on both engines: moves off one pool's seats by state,
// pending ones split by whether they have a target seat; moves off other
// pools and moves before since are left out.
func TestMoveCountsFromPool(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		now := time.Now().UTC().Truncate(time.Millisecond)
		st.SetClock(func() time.Time { return now })
		from := storetest.Pool(t, st, store.PoolCreateParams{Name: "from", Kind: model.KindTeam, Capacity: 10})
		to := storetest.Pool(t, st, store.PoolCreateParams{Name: "to", Kind: model.KindTeam, Capacity: 10})
		move := func(i int, pool int64, target bool, finish model.MoveState) {
			t.Helper()
			m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindTeam, ExternalID: fmt.Sprintf("m%d@example.com", i)})
			if err != nil {
				t.Fatal(err)
			}
			seat, err := st.SeatCreate(ctx, m.ID, pool, model.SeatActive, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var toSeat int64
			if target {
				if toSeat, err = st.SeatCreate(ctx, m.ID, to.ID, model.SeatProvisioning, seat, 0); err != nil {
					t.Fatal(err)
				}
			}
			id, err := st.MoveCreate(ctx, model.Move{MemberID: m.ID, FromSeat: seat, ToSeat: toSeat, Reason: "drain", Actor: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if finish != "" {
				if ok, err := st.MoveFinish(ctx, id, finish, ""); err != nil || !ok {
					t.Fatal(ok, err)
				}
			}
		}
		// Before since: left out.
		move(0, from.ID, true, model.MoveDone)
		since := now.Add(time.Second)
		now = since
		move(1, from.ID, true, model.MoveDone)
		move(2, from.ID, true, model.MoveDone)
		move(3, from.ID, true, model.MoveFailed)
		move(4, from.ID, true, "")
		move(5, from.ID, false, "")
		move(6, from.ID, false, "")
		move(7, from.ID, false, model.MoveCancelled)
		move(8, to.ID, false, "") // another pool's

		got, err := st.Reader().MoveCountsFromPool(ctx, from.ID, since)
		if err != nil {
			t.Fatal(err)
		}
		want := store.DrainCounts{Moved: 2, Failed: 1, Cancelled: 1, Waiting: 2, InProgress: 1}
		if got != want || got.Pending() != 3 {
			t.Errorf("counts %+v, want %+v", got, want)
		}
		all, err := st.Reader().MoveCountsFromPool(ctx, from.ID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if all.Moved != 3 {
			t.Errorf("all counts %+v, want 3 moved", all)
		}
	})
}
