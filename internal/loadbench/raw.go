package loadbench

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/jobs"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/secret"
	"github.com/berthhq/berth/internal/store"
)

// rawInsert is the import's yardstick: the rows an import of files onto
// servers pools leaves behind, written into a fresh database of the same
// engine in this process, with no HTTP, no decision, no claim and no guard
// retry: per chunk of chunk accounts one transaction holding one multi-row
// insert of the members (files sealed), one guarded used+n for all the pools, one multi-row
// insert of the seats, one of the member states, one of the history rows
// and one River job delivering the chunk's seats. It returns the accounts
// written per second.
func rawInsert(ctx context.Context, dbURL string, files []credFile, servers, capacity, chunk int) (float64, error) {
	dir, err := os.MkdirTemp("", "berth-bench-raw-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	dsn, drop := filepath.Join(dir, "raw.db"), func() error { return nil }
	if dbURL != "" {
		if dsn, drop, err = createDatabase(ctx, dbURL); err != nil {
			return 0, err
		}
	}
	defer drop()
	var key [32]byte
	rand.Read(key[:])
	box, err := secret.New(key[:])
	if err != nil {
		return 0, err
	}
	st, err := store.Open(ctx, dsn, box)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	quiet := slog.New(slog.DiscardHandler)
	q, err := jobs.New(ctx, st, alloc.New(st, nil, quiet), jobs.Config{}, quiet) // not started: inserts only
	if err != nil {
		return 0, err
	}
	pools := make([]model.Pool, servers)
	for i := range pools {
		if pools[i], err = st.PoolCreate(ctx, store.PoolCreateParams{Name: fmt.Sprintf("raw-%05d", i), Kind: model.KindServer,
			Capacity: capacity, ProviderType: "sim", ProviderConfig: []byte(`{}`)}); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for lo := 0; lo < len(files); lo += chunk {
		part := files[lo:min(lo+chunk, len(files))]
		err := st.InTx(ctx, func(tx *store.Tx) error {
			params := make([]store.MemberCreateParams, len(part))
			for i, f := range part {
				params[i] = store.MemberCreateParams{Kind: model.KindServer, ExternalID: strings.TrimSuffix(f.name, ".session"),
					AffinityKey: importScript, FileName: f.name, FileData: f.data}
			}
			members, _, err := tx.MemberCreateMany(ctx, params)
			if err != nil {
				return err
			}
			need := map[int64]int{}
			seats := make([]store.SeatParams, len(members))
			ids := make([]int64, len(members))
			hist := make([]model.HistoryEntry, len(members))
			for i, m := range members {
				p := pools[((lo+i)/capacity)%len(pools)] // what pack does with one script
				need[p.ID]++
				seats[i] = store.SeatParams{MemberID: m.ID, PoolID: p.ID, State: model.SeatProvisioning}
				ids[i] = m.ID
				hist[i] = model.HistoryEntry{Member: m.ExternalID, Pool: p.Name, Action: model.ActPlaced, To: p.Name, Actor: "bench",
					Reason: fmt.Sprintf("%s (holds script %s, %d/%d used; affinity pack) — %d pools: %d full", p.Name, importScript,
						(lo+i)%capacity, capacity, len(pools), (lo+i)/capacity)}
			}
			if _, err := tx.PoolReserveMany(ctx, need); err != nil {
				return err
			}
			seatIDs, err := tx.SeatCreateMany(ctx, seats)
			if err != nil {
				return err
			}
			if err := tx.MembersSetState(ctx, ids, model.MemberPlaced, ""); err != nil {
				return err
			}
			if err := tx.HistoryAddMany(ctx, hist...); err != nil {
				return err
			}
			return q.DeliverMany(ctx, tx, seatIDs)
		})
		if err != nil {
			return 0, fmt.Errorf("raw insert: %w", err)
		}
	}
	return float64(len(files)) / time.Since(start).Seconds(), nil
}
