package jobs

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/berthhq/berth/internal/health"
	"github.com/berthhq/berth/internal/provider"
)

// observed records the outcome of every call to a pool's provider in the
// pool's health (alloc.Service.RecordOutcome, package health): deliveries,
// removals, reconciliations' lists and the monitor's probes alike.
type observed struct {
	pool   int64
	p      provider.Provider
	record func(pool int64, o health.Outcome)
}

// observe wraps p so its calls count in the pool's health.
func (q *Queue) observe(poolID int64, p provider.Provider) provider.Provider {
	if p == nil || q.svc == nil {
		return p
	}
	return observed{pool: poolID, p: p, record: q.svc.RecordOutcome}
}

// outcome judges one call. A refusal of the member alone (member-permanent)
// is the provider working; a call cancelled by berth itself (shutdown, a
// job cancelled) says nothing of the pool and is not recorded.
func outcome(ctx context.Context, start time.Time, err error) (health.Outcome, bool) {
	o := health.Outcome{At: start, Latency: time.Since(start)}
	if err == nil || provider.Classify(err) == provider.MemberPermanent {
		return o, true
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		o.Timeout = true
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return o, false
	}
	o.Failed = true
	return o, true
}

func (w observed) done(ctx context.Context, start time.Time, err error) {
	if o, ok := outcome(ctx, start, err); ok {
		w.record(w.pool, o)
	}
}

func (w observed) Put(ctx context.Context, m provider.Member) error {
	start := time.Now()
	err := w.p.Put(ctx, m)
	w.done(ctx, start, err)
	return err
}

func (w observed) Remove(ctx context.Context, m provider.Member) error {
	start := time.Now()
	err := w.p.Remove(ctx, m)
	w.done(ctx, start, err)
	return err
}

func (w observed) List(ctx context.Context) ([]string, error) {
	start := time.Now()
	ids, err := w.p.List(ctx)
	w.done(ctx, start, err)
	return ids, err
}

func (w observed) Check(ctx context.Context) error {
	start := time.Now()
	err := w.p.Check(ctx)
	if o, ok := outcome(ctx, start, err); ok {
		o.Probe = true // its success only refreshes the score (package health)
		w.record(w.pool, o)
	}
	return err
}
