package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A placement reason's data goes into the queue, the member and history and
// comes back the same on both engines; rows written without it (and a
// state change that is not a placement's) read back as nil.
func TestWhyRoundTrip(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		why := &model.Why{Kind: model.KindServer, Considered: 3, Filtered: map[string]int{model.CauseFull: 2, model.CausePaused: 1},
			AffinityKey: "A", Contended: 8, ExcludedUntil: time.Date(2026, 12, 4, 18, 30, 0, 0, time.UTC)}
		m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: "acct-1", AffinityKey: "A"})
		if err != nil {
			t.Fatal(err)
		}
		old, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindServer, ExternalID: "acct-0"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Why != nil {
			t.Fatalf("new member has why %+v", m.Why)
		}
		if _, err := st.QueuePush(ctx, model.QueueEntry{MemberID: old.ID, Kind: model.KindServer, Reason: "3 pools: 3 full"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.QueuePush(ctx, model.QueueEntry{MemberID: m.ID, Kind: model.KindServer, Reason: "3 pools: 2 full, 1 paused", Why: why}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.MemberSetStateWhy(ctx, m.ID, model.MemberQueued, "3 pools: 2 full, 1 paused", why); err != nil {
			t.Fatal(err)
		}
		if err := st.HistoryAddMany(ctx,
			model.HistoryEntry{Member: "acct-1", Action: model.ActQueued, Reason: "3 pools: 2 full, 1 paused", Why: why},
			model.HistoryEntry{Member: "acct-1", Action: model.ActRejected, Reason: "no"}); err != nil {
			t.Fatal(err)
		}
		placed := &model.Why{Kind: model.KindServer, Considered: 1, Pool: "w1", Used: 2, Capacity: 5, Rule: model.RuleAffinity, AffinityKey: "A"}
		if err := st.HistoryAdd(ctx, model.HistoryEntry{Member: "acct-1", Action: model.ActPlaced, Reason: "w1 (…)", Why: placed}); err != nil {
			t.Fatal(err)
		}

		e, err := st.QueueGet(ctx, m.ID)
		if err != nil || !reflect.DeepEqual(e.Why, why) {
			t.Fatalf("queue entry why %+v, %v; want %+v", e.Why, err, why)
		}
		list, err := st.QueueList(ctx, model.KindServer, 0)
		if err != nil || len(list) != 2 || list[0].Why != nil || !reflect.DeepEqual(list[1].Why, why) {
			t.Fatalf("queue list %+v, %v", list, err)
		}
		got, err := st.MemberGet(ctx, m.ID)
		if err != nil || !reflect.DeepEqual(got.Why, why) {
			t.Fatalf("member why %+v, %v", got.Why, err)
		}
		accts, err := st.AccountList(ctx, store.AccountFilter{})
		if err != nil || len(accts) != 2 || accts[1].Why != nil || !reflect.DeepEqual(accts[0].Why, why) {
			t.Fatalf("accounts %+v, %v", accts, err)
		}
		hs, err := st.HistoryList(ctx, store.HistoryFilter{Member: "acct-1"})
		if err != nil || len(hs) != 3 || !reflect.DeepEqual(hs[0].Why, placed) || hs[1].Why != nil || !reflect.DeepEqual(hs[2].Why, why) {
			t.Fatalf("history %+v, %v", hs, err)
		}
		// A later state change that is not a placement's clears the data.
		if _, err := st.MemberSetState(ctx, m.ID, model.MemberFailed, "cancelled"); err != nil {
			t.Fatal(err)
		}
		if got, err := st.MemberGet(ctx, m.ID); err != nil || got.Why != nil || got.Reason != "cancelled" {
			t.Fatalf("after failure %+v, %v", got, err)
		}
	})
}
