package store

import "context"

// NoticeForget removes the record NoticeOnce made for a code and threshold,
// so that a later run may claim and send that warning again (used when the
// send failed). Forgetting a warning never recorded is not an error.
func (q *Queries) NoticeForget(ctx context.Context, codeID int64, threshold int) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM expiry_notices WHERE code_id = $1 AND threshold = $2`, codeID, threshold)
	return err
}
