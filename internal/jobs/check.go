package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
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

// CheckState is where a pool check is.
type CheckState string

// The states of a pool check.
const (
	CheckPending CheckState = "pending"
	CheckOK      CheckState = "ok"
	CheckFailed  CheckState = "failed"
)

// CheckAnswer is a pool check's state and, when it failed, the provider's
// error.
type CheckAnswer struct {
	PoolID int64
	State  CheckState
	Error  string
}

// ErrNoCheck: the job asked for is not a pool check.
var ErrNoCheck = errors.New("no such pool check")

// CheckPool enqueues a check of a pool's provider and returns its job id.
func (q *Queue) CheckPool(ctx context.Context, poolID int64) (int64, error) {
	res, err := q.client.Insert(ctx, CheckPoolArgs{PoolID: poolID}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// CheckResult reads the answer of a check CheckPool enqueued.
func (q *Queue) CheckResult(ctx context.Context, jobID int64) (CheckAnswer, error) {
	job, err := q.client.JobGet(ctx, jobID)
	if errors.Is(err, river.ErrNotFound) || (err == nil && job.Kind != (CheckPoolArgs{}).Kind()) {
		return CheckAnswer{}, ErrNoCheck
	}
	if err != nil {
		return CheckAnswer{}, err
	}
	var args CheckPoolArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return CheckAnswer{}, err
	}
	a := CheckAnswer{PoolID: args.PoolID, State: CheckPending}
	switch job.State {
	case rivertype.JobStateCompleted:
		a.State = CheckOK
	case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		a.State, a.Error = CheckFailed, "failed"
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
