package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The fleet's time series on both engines: a record writes one row per
// kind and group with the kind's queue depth (a kind with a queue and no
// pools too), a second record at the same time is ignored, reads filter by
// range and kind, fold into buckets keeping the peak, and the retention
// deletes the old rows.
func TestFleetSamplesRoundTrip(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, st *store.Store) {
		mk := func(name string, kind model.Kind, capacity int, group string) model.Pool {
			var labels map[string]string
			if group != "" {
				labels = map[string]string{"group": group}
			}
			return storetest.Pool(t, st, store.PoolCreateParams{Name: name, Kind: kind, Capacity: capacity, Labels: labels})
		}
		s1 := mk("s-1", model.KindServer, 4, "")
		mk("s-2", model.KindServer, 6, "")
		mk("s-3", model.KindServer, 10, "gpu")
		if _, err := st.DB.Exec(`UPDATE pools SET used = 3 WHERE id = $1`, s1.ID); err != nil {
			t.Fatal(err)
		}
		for i := range 2 { // two teams wait; there are no team pools
			m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindTeam, ExternalID: fmt.Sprintf("u%d@example.com", i)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.QueuePush(ctx, model.QueueEntry{MemberID: m.ID, Kind: model.KindTeam, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
		}

		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		got, err := st.FleetSampleRecord(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.FleetSample{
			{At: t0, Kind: model.KindServer, Group: "", Pools: 2, Capacity: 10, Used: 3},
			{At: t0, Kind: model.KindServer, Group: "gpu", Pools: 1, Capacity: 10},
			{At: t0, Kind: model.KindTeam, Group: "", Queued: 2},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("recorded %+v\nwant %+v", got, want)
		}
		if _, err := st.FleetSampleRecord(ctx, t0); err != nil { // the same time again: ignored
			t.Fatal(err)
		}
		rd := st.Reader()
		read, err := rd.FleetSamples(ctx, t0, t0.Add(time.Minute), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(read, want) {
			t.Fatalf("read %+v\nwant %+v", read, want)
		}

		// More points of servers/"": used 5, 1, 7 over the next 15 minutes.
		var more []store.FleetSample
		for i, used := range []int{5, 1, 7} {
			more = append(more, store.FleetSample{At: t0.Add(time.Duration(i+1) * 5 * time.Minute), Kind: model.KindServer, Pools: 2, Capacity: 10, Used: used})
		}
		if err := st.FleetSamplesInsert(ctx, more); err != nil {
			t.Fatal(err)
		}
		servers, err := rd.FleetSamples(ctx, t0, t0.Add(time.Hour), model.KindServer, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(servers) != 5 || servers[2].Used != 1 || servers[4].Group != "gpu" {
			t.Errorf("servers %+v", servers)
		}
		// 10-minute buckets (aligned on the epoch): 10:00-10:10 holds used 3
		// and 5, 10:10-10:20 holds 1 and 7; each answers its peak at its
		// last sample.
		folded, err := rd.FleetSamples(ctx, t0, t0.Add(time.Hour), model.KindServer, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		wantFolded := []store.FleetSample{
			{At: t0.Add(5 * time.Minute), Kind: model.KindServer, Pools: 2, Capacity: 10, Used: 5},
			{At: t0.Add(15 * time.Minute), Kind: model.KindServer, Pools: 2, Capacity: 10, Used: 7},
			{At: t0, Kind: model.KindServer, Group: "gpu", Pools: 1, Capacity: 10},
		}
		if !reflect.DeepEqual(folded, wantFolded) {
			t.Errorf("folded %+v\nwant %+v", folded, wantFolded)
		}
		// The range's end is exclusive.
		if early, err := rd.FleetSamples(ctx, t0, t0.Add(5*time.Minute), model.KindServer, 0); err != nil || len(early) != 2 {
			t.Errorf("before 10:05: %+v, %v", early, err)
		}

		n, err := st.FleetSamplesDeleteBefore(ctx, t0.Add(time.Minute))
		if err != nil || n != 3 {
			t.Fatalf("deleted %d, %v; want the 3 rows of 10:00", n, err)
		}
		if left, _ := rd.FleetSamples(ctx, t0, t0.Add(time.Hour), "", 0); len(left) != 3 {
			t.Errorf("left %+v", left)
		}
	})
}
