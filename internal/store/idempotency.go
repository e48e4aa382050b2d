package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IdempotencyTTL is how long the answer of a request sent with an
// Idempotency-Key is kept: a retry after that is a new request.
const IdempotencyTTL = 24 * time.Hour

// IdemRecord is what is kept of a request sent with an Idempotency-Key:
// the hash of the request, and its answer once it was given. Status 0
// means the request holding the key has not answered yet.
type IdemRecord struct {
	Hash   []byte
	Status int
	Body   []byte
}

// IdemBegin reserves key for caller on route, for the request whose hash
// is hash. It first deletes every key older than IdempotencyTTL. held
// reports that this request holds the key now (its row was written, status
// 0): it must end with IdemFinish or IdemDrop. Otherwise the key's record
// is returned: an answer to replay (Status > 0, Body opened), a request
// still running (Status 0), or another request (Hash differs).
func (q *Queries) IdemBegin(ctx context.Context, caller, route, key string, hash []byte) (rec IdemRecord, held bool, err error) {
	now := q.now()
	if _, err := q.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, micros(now.Add(-IdempotencyTTL))); err != nil {
		return IdemRecord{}, false, fmt.Errorf("idempotency keys: %w", err)
	}
	// Two tries: the row found on a conflict may have expired (and been
	// deleted by another request) before it is read.
	for range 2 {
		var id int64
		err := q.db.QueryRowContext(ctx, `INSERT INTO idempotency_keys (idem_key, caller, route, request_hash, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (caller, route, idem_key) DO NOTHING RETURNING id`,
			key, caller, route, hash, micros(now)).Scan(&id)
		if err == nil {
			return IdemRecord{Hash: hash}, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return IdemRecord{}, false, fmt.Errorf("idempotency key: %w", err)
		}
		var sealed []byte
		err = q.db.QueryRowContext(ctx, `SELECT request_hash, status, body FROM idempotency_keys
			WHERE caller = $1 AND route = $2 AND idem_key = $3`, caller, route, key).Scan(&rec.Hash, &rec.Status, &sealed)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return IdemRecord{}, false, fmt.Errorf("idempotency key: %w", err)
		}
		if sealed != nil {
			if rec.Body, err = q.seal.Open(sealed); err != nil {
				return IdemRecord{}, false, fmt.Errorf("idempotency key: open the stored answer: %w", err)
			}
		}
		return rec, false, nil
	}
	return IdemRecord{}, false, errors.New("idempotency key: the key kept changing; try again")
}

// IdemFinish stores the answer of the request holding key (IdemBegin):
// its status and its body, sealed (a code batch's answer holds the codes
// in clear).
func (q *Queries) IdemFinish(ctx context.Context, caller, route, key string, status int, body []byte) error {
	_, err := q.db.ExecContext(ctx, `UPDATE idempotency_keys SET status = $1, body = $2
		WHERE caller = $3 AND route = $4 AND idem_key = $5 AND status = 0`, status, q.seal.Seal(body), caller, route, key)
	if err != nil {
		return fmt.Errorf("idempotency key: store the answer: %w", err)
	}
	return nil
}

// IdemDrop frees key when the request holding it answered with an error
// (IdemBegin): the key may be used again.
func (q *Queries) IdemDrop(ctx context.Context, caller, route, key string) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM idempotency_keys
		WHERE caller = $1 AND route = $2 AND idem_key = $3 AND status = 0`, caller, route, key)
	if err != nil {
		return fmt.Errorf("idempotency key: %w", err)
	}
	return nil
}
