package loadbench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// seedWorkers is how many admin requests seeding sends at once.
const seedWorkers = 8

// codeChunk is how many codes one generate request asks for (berth takes
// up to 100,000; smaller requests run in parallel).
const codeChunk = 5000

// parallel runs fn(ctx, i) for i in 0..n-1 on up to workers goroutines and
// returns the first error (which stops the rest).
func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// createPools creates n pools of kind ("team" or "server") with the
// simulated provider (no latency, no failures: deliveries are instant),
// named bench-RUN-KIND-SEQ. Teams carry this run's group label, which its
// codes ask for. It returns the names in order.
func (b *bench) createPools(ctx context.Context, kind string, n, capacity int) ([]string, error) {
	first := b.poolSeq[kind]
	b.poolSeq[kind] += n
	names := make([]string, n)
	ids := make([]int64, n)
	err := parallel(ctx, seedWorkers, n, func(ctx context.Context, i int) error {
		names[i] = fmt.Sprintf("bench-%s-%s-%05d", b.runID, kind, first+i+1)
		body := map[string]any{"name": names[i], "kind": kind, "capacity": capacity, "provider": map[string]any{"type": "sim"}}
		if kind == "team" {
			body["labels"] = map[string]string{"group": b.group}
		}
		var p struct {
			ID int64 `json:"id"`
		}
		if err := b.admin.json(ctx, "POST", "/api/v1/pools", body, &p); err != nil {
			return err
		}
		ids[i] = p.ID
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("creating %s pools: %w", kind, err)
	}
	for i, name := range names {
		b.poolIDs[name] = ids[i]
	}
	if kind == "team" {
		b.teams = append(b.teams, names...)
	}
	return names, nil
}

// seedTeams creates enough teams for seats more users.
func (b *bench) seedTeams(ctx context.Context, teams int) error {
	start := time.Now()
	if _, err := b.createPools(ctx, "team", teams, b.cfg.TeamCapacity); err != nil {
		return err
	}
	b.cfg.logf("  seeded %d teams of %d seats in %.1fs", teams, b.cfg.TeamCapacity, time.Since(start).Seconds())
	return nil
}

// generateCodes asks berth for n fresh single-use codes of this run's
// group.
func (b *bench) generateCodes(ctx context.Context, n int) ([]string, error) {
	start := time.Now()
	chunks := (n + codeChunk - 1) / codeChunk
	parts := make([][]string, chunks)
	err := parallel(ctx, 4, chunks, func(ctx context.Context, i int) error {
		count := min(codeChunk, n-i*codeChunk)
		var res struct {
			Codes []string `json:"codes"`
		}
		spec := map[string]any{"count": count, "group": b.group, "max_uses": 1, "rebind_limit": 3, "batch": "bench-" + b.runID}
		if err := b.admin.json(ctx, "POST", "/api/v1/codes/batch", spec, &res); err != nil {
			return err
		}
		if len(res.Codes) != count {
			return fmt.Errorf("asked for %d codes, got %d", count, len(res.Codes))
		}
		parts[i] = res.Codes
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("generating codes: %w", err)
	}
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	b.cfg.logf("  generated %d codes in %.1fs", n, time.Since(start).Seconds())
	return out, nil
}

// waitDelivered waits until no seat is provisioning any more (every
// placement so far delivered), at most --max-duration. It returns how long
// that took and whether it happened.
func (b *bench) waitDelivered(ctx context.Context) (time.Duration, bool, error) {
	start := time.Now()
	for {
		var res struct {
			Items []struct{} `json:"items"`
		}
		if err := b.admin.do(ctx, "GET", "/api/v1/seats?state=provisioning", "", nil, &res); err != nil {
			return 0, false, err
		}
		if len(res.Items) == 0 {
			return time.Since(start), true, nil
		}
		if time.Since(start) > b.cfg.MaxDuration {
			return time.Since(start), false, nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return 0, false, err
		}
	}
}

// settleNote waits for deliveries to catch up after a workload and says
// how long that took.
func (b *bench) settleNote(ctx context.Context, r *Result) error {
	d, ok, err := b.waitDelivered(ctx)
	if err != nil {
		return err
	}
	if ok {
		r.Notes = append(r.Notes, fmt.Sprintf("deliveries caught up %.1fs after the last answer", d.Seconds()))
	} else {
		r.Notes = append(r.Notes, fmt.Sprintf("seats still provisioning %.0fs after the last answer", d.Seconds()))
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
