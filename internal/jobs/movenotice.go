package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/berthhq/berth/internal/store"
)

// MoveMailer tells a user of a finished move (package notify, MoveMailer):
// it sends at most once per move (recorded in moves.notified_at) and
// returns an error, for a retry, when the mail could not be sent.
type MoveMailer interface {
	Send(ctx context.Context, moveID int64) (sent bool, err error)
}

// MoveNoticeArgs mails the user of a team seat that their move finished.
// Package alloc enqueues it in the transaction that marks the move done.
type MoveNoticeArgs struct {
	MoveID int64 `json:"move_id"`
}

// Kind implements river.JobArgs.
func (MoveNoticeArgs) Kind() string { return "move_notice" }

// moveNoticeAttempts: with Config.Backoff (production: doubling from 1s,
// at most 5m apart) a relay that is down is retried for about a day before
// the mail is given up.
const moveNoticeAttempts = 300

// NotifiesMoves implements alloc.MoveNotifier: move mails need a mailer.
func (q *Queue) NotifiesMoves() bool { return q.cfg.MoveMailer != nil }

// MoveDone implements alloc.MoveNotifier.
func (q *Queue) MoveDone(ctx context.Context, tx *store.Tx, moveID int64) error {
	if q.cfg.MoveMailer == nil {
		return nil
	}
	_, err := q.client.InsertTx(ctx, tx.SQL, MoveNoticeArgs{MoveID: moveID}, &river.InsertOpts{MaxAttempts: moveNoticeAttempts})
	return err
}

type moveNoticeWorker struct {
	river.WorkerDefaults[MoveNoticeArgs]
	q *Queue
}

// NextRetry follows Config.Backoff, so a relay back up is used within
// minutes.
func (w *moveNoticeWorker) NextRetry(job *river.Job[MoveNoticeArgs]) time.Time {
	return time.Now().Add(w.q.cfg.Backoff(job.Attempt))
}

// Work sends the mail; an SMTP failure returns its error and River retries
// the job. The mailer skips a move already told of, so a job run twice
// sends one mail.
func (w *moveNoticeWorker) Work(ctx context.Context, job *river.Job[MoveNoticeArgs]) error {
	if w.q.cfg.MoveMailer == nil {
		return nil // mail switched off since the job was enqueued
	}
	_, err := w.q.cfg.MoveMailer.Send(ctx, job.Args.MoveID)
	return err
}
