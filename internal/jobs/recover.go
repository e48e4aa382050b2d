package jobs

import (
	"context"
	"fmt"

	"github.com/berthhq/berth/internal/store"
)

// retryOrphans runs before the workers start when this process owns the
// SQLite database (store.SoleOwner: it holds the file's lock, so no other
// process is working any job). Every job the database shows running was
// left by a process that ended (a crash, kill -9): it is made available at
// once instead of waiting for River's rescuer (RescueAfter, 90s by default,
// plus the rescuer's own period) — what River's rescuer would do, sooner.
// The dead process's leadership is dropped too, so this process becomes
// River's leader at its first try instead of after the lease (15s): the
// periodic jobs (the crash sweep runs at start), the scheduler of retries
// and the rescuer run on the leader only.
//
// River (v0.51) has no call for this: JobRetry leaves running jobs alone,
// and the driver's rescue methods are not for callers. The statements below
// touch only River's columns the way its own JobRetry (riversqlite's
// river_job.sql) does: state, scheduled_at in SQLite's datetime format, and
// max_attempts raised when the dead run used the last attempt, so the job
// runs once more instead of being discarded. Workers are idempotent (a seat
// already delivered is skipped), so running a job again is safe.
//
// On PostgreSQL replicas share the database and a running job may belong to
// a live replica: River's rescuer decides there (BERTH_JOB_RESCUE_AFTER).
func retryOrphans(ctx context.Context, st *store.Store) (int64, error) {
	if st.Dialect != store.SQLite || !st.SoleOwner() {
		return 0, nil
	}
	tx, err := st.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE river_job SET state = 'available',
		scheduled_at = datetime('now', 'subsec'),
		max_attempts = max(max_attempts, attempt + 1)
		WHERE state = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("retry jobs left running: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM river_leader`); err != nil {
		return 0, fmt.Errorf("drop the ended process's job leadership: %w", err)
	}
	return n, tx.Commit()
}
