package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

func TestReconcileRuns(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, ctx context.Context, s *store.Store) {
		p := model.Pool{ID: 7, Name: "team-1"}
		var run model.ReconcileRun
		err := s.InTx(ctx, func(tx *store.Tx) (err error) {
			run, err = tx.ReconcileRunCreate(ctx, p, json.RawMessage(`{"repair":true}`), "alice")
			return err
		})
		if err != nil || run.ID <= 0 || run.State != model.ReconcileQueued {
			t.Fatalf("create: %+v %v", run, err)
		}
		got, err := s.ReconcileRunGet(ctx, run.ID)
		if err != nil || got.PoolID != 7 || got.Pool != "team-1" || got.State != model.ReconcileQueued || string(got.Options) != `{"repair":true}` ||
			got.Actor != "alice" || got.Report != nil || !got.FinishedAt.IsZero() || got.CreatedAt.IsZero() {
			t.Fatalf("queued run: %+v %v", got, err)
		}
		if err := s.ReconcileRunStart(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ReconcileRunGet(ctx, run.ID); got.State != model.ReconcileRunning {
			t.Fatalf("started run: %+v", got)
		}
		if err := s.ReconcileRunFinish(ctx, run.ID, model.ReconcileDone, json.RawMessage(`{"pool":"team-1"}`), ""); err != nil {
			t.Fatal(err)
		}
		got, err = s.ReconcileRunGet(ctx, run.ID)
		if err != nil || got.State != model.ReconcileDone || string(got.Report) != `{"pool":"team-1"}` || got.FinishedAt.IsZero() || got.Error != "" {
			t.Fatalf("done run: %+v %v", got, err)
		}
		if _, err := s.ReconcileRunGet(ctx, run.ID+1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing run: %v", err)
		}
	})
}
