package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berthhq/berth/internal/store"
)

// StuckAfter is how long the job queue may hold a due job no worker picked
// up, with no job completing meanwhile, before Health calls it stuck.
const StuckAfter = 5 * time.Minute

// ErrNotWorking: this process's job client is not running (not started,
// or stopped).
var ErrNotWorking = errors.New("job queue: this process does not work jobs")

// Health is the readiness probe's job check, kept cheap: that this
// process's River client is running (a channel read), then one read of the
// job table (store.JobTimes) for a stuck queue: a job due for longer than
// StuckAfter while no job completed within StuckAfter. A long backlog that
// is being worked is not stuck: jobs complete. On PostgreSQL the queue is
// shared, so a stuck queue makes every replica unready: that is what
// happens when no replica works jobs, and a restart is then the remedy.
func (q *Queue) Health(ctx context.Context) error {
	if !q.Running() {
		return ErrNotWorking
	}
	jt, err := q.st.JobTimes(ctx)
	if err != nil {
		return err
	}
	if Stuck(time.Now(), jt) {
		return fmt.Errorf("job queue stuck: a job due since %s has not started and no job completed in the last %s",
			jt.OldestAvailable.UTC().Format(time.RFC3339), StuckAfter)
	}
	return nil
}

// Stuck reports whether, at now, a job has been due for longer than
// StuckAfter while no job completed within StuckAfter.
func Stuck(now time.Time, jt store.JobTimes) bool {
	if jt.OldestAvailable.IsZero() || now.Sub(jt.OldestAvailable) <= StuckAfter {
		return false
	}
	return jt.LastCompleted.IsZero() || now.Sub(jt.LastCompleted) > StuckAfter
}

// Running reports whether this process's River client has started and not
// stopped.
func (q *Queue) Running() bool {
	stopped := q.client.Stopped() // nil until Start
	if stopped == nil {
		return false
	}
	select {
	case <-stopped:
		return false
	default:
		return true
	}
}
