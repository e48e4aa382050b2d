package alloc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

type noJobs struct{}

func (noJobs) Deliver(context.Context, *store.Tx, int64) error         { return nil }
func (noJobs) Remove(context.Context, *store.Tx, int64) error          { return nil }
func (noJobs) DrainQueue(context.Context, *store.Tx, model.Kind) error { return nil }

// A stale index keeps serving while a fresh one is built in the background;
// the fresh one sees what another replica changed in the database.
func TestIndexRefreshesInBackground(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	svc := alloc.New(st, noJobs{}, nil)
	svc.IndexTTL = 50 * time.Millisecond
	one := 1
	if _, err := svc.CreatePool(ctx, alloc.PoolInput{Name: "a", Kind: model.KindServer, Capacity: &one, Provider: []byte(`{"type":"sim"}`)}, "t"); err != nil {
		t.Fatal(err)
	}
	file := func(id string) []alloc.AccountFile {
		return []alloc.AccountFile{{ID: id, FileName: id + ".session", Data: []byte("x")}}
	}
	out, err := svc.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: file("x1")})
	if err != nil || out[0].Pool != "a" {
		t.Fatalf("first import: %+v %v", out, err)
	}
	// Another replica adds a pool behind this one's back.
	if _, err := st.PoolCreate(ctx, store.PoolCreateParams{Name: "b", Kind: model.KindServer, Capacity: 5, ProviderType: "sim", ProviderConfig: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	// This import finds the index stale: it is served the old one (pool a
	// is full → queued) and triggers a refresh...
	out, _ = svc.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: file("x2")})
	if out[0].Status != alloc.OutcomeQueued {
		t.Logf("second import already saw the fresh index: %+v", out[0])
	}
	// ...after which pool b is known.
	deadline := time.Now().Add(5 * time.Second)
	for i := 3; ; i++ {
		out, _ = svc.ImportAccounts(ctx, alloc.ImportParams{Script: "S", Files: file(fmt.Sprintf("x%d", i))})
		if out[0].Pool == "b" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out[0].Pool != "b" {
		t.Fatalf("fresh index never arrived: %+v", out[0])
	}
}
