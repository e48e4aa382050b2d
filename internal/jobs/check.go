package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/berthhq/berth/internal/model"
)

// CheckPoolArgs is a "test connection" of one pool: its provider's Check,
// run once (no retry). The answer is the job's own record: completed, or
// discarded with the provider's error; CheckResult reads it back. The
// queue keeps finished jobs for a day, so no table of its own is needed.
type CheckPoolArgs struct {
	PoolID int64 `json:"pool_id"`
}

// Kind is the job kind.
func (CheckPoolArgs) Kind() string { return "check_pool" }

// CheckPool enqueues a check of a pool's provider and returns its job id.
func (q *Queue) CheckPool(ctx context.Context, poolID int64) (int64, error) {
	res, err := q.client.Insert(ctx, CheckPoolArgs{PoolID: poolID}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// CheckResult reads the answer of a check CheckPool enqueued.
func (q *Queue) CheckResult(ctx context.Context, jobID int64) (model.PoolCheck, error) {
	job, err := q.client.JobGet(ctx, jobID)
	if errors.Is(err, river.ErrNotFound) || (err == nil && job.Kind != (CheckPoolArgs{}).Kind()) {
		return model.PoolCheck{}, model.ErrNoPoolCheck
	}
	if err != nil {
		return model.PoolCheck{}, err
	}
	var args CheckPoolArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return model.PoolCheck{}, err
	}
	a := model.PoolCheck{PoolID: args.PoolID, State: model.PoolCheckPending}
	switch job.State {
	case rivertype.JobStateCompleted:
		a.State = model.PoolCheckOK
	case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		a.State, a.Error = model.PoolCheckFailed, "failed"
		if n := len(job.Errors); n > 0 {
			a.Error = job.Errors[n-1].Error
		}
	}
	return a, nil
}

type checkPoolWorker struct {
	river.WorkerDefaults[CheckPoolArgs]
	q *Queue
}

func (w *checkPoolWorker) Work(ctx context.Context, job *river.Job[CheckPoolArgs]) error {
	q := w.q
	p, err := q.st.PoolGet(ctx, job.Args.PoolID)
	if err != nil {
		return fmt.Errorf("pool %d: %w", job.Args.PoolID, err)
	}
	prov, err := q.openPool(ctx, p.ID, p.Name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, q.cfg.ProbeTimeout)
	defer cancel()
	return prov.Check(ctx)
}
