package jobs

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/berthhq/berth/internal/alloc/plans"
)

// RebalanceStepArgs runs the next scheduled moves of applied rebalance
// plans (plans.RunPaced): at most Config.RebalanceMovesPerMinute each
// RebalanceEvery (a minute), so a big rebalance does not storm the
// providers.
type RebalanceStepArgs struct{}

// Kind implements river.JobArgs.
func (RebalanceStepArgs) Kind() string { return "rebalance_step" }

// rebalanceStepOpts: one rebalance_step at a time, in this process and
// across replicas (a turn that outlasts RebalanceEvery is not joined by
// the next).
func rebalanceStepOpts() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
		rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
}

// rebalanceStepWorker runs a turn and logs how many moves it ran.
func (q *Queue) rebalanceStepWorker() *countWorker[RebalanceStepArgs] {
	return &countWorker[RebalanceStepArgs]{log: q.log, what: "rebalance moves run", run: func(ctx context.Context) (int, error) {
		return plans.New(q.st, q.svc).RunPaced(ctx, q.cfg.RebalanceMovesPerMinute)
	}}
}
