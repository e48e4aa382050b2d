package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// Savepoints let one transaction carry several independent requests (the
// placer's group commit, package alloc): each runs after Savepoint, and a
// request that fails is rolled back to it alone while its neighbours'
// work stays. Both engines accept the same statements.

const savepointName = "berth_call"

// Savepoint marks the point RollbackToSavepoint returns to.
func (tx *Tx) Savepoint(ctx context.Context) error {
	_, err := tx.SQL.ExecContext(ctx, "SAVEPOINT "+savepointName)
	return err
}

// ReleaseSavepoint keeps what was done since Savepoint.
func (tx *Tx) ReleaseSavepoint(ctx context.Context) error {
	_, err := tx.SQL.ExecContext(ctx, "RELEASE SAVEPOINT "+savepointName)
	return err
}

// RollbackToSavepoint undoes what was done since Savepoint (on PostgreSQL
// also leaving an aborted transaction usable again, and letting go of row
// locks taken since) and drops the savepoint.
func (tx *Tx) RollbackToSavepoint(ctx context.Context) error {
	if _, err := tx.SQL.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+savepointName); err != nil {
		return err
	}
	return tx.ReleaseSavepoint(ctx)
}

// Transient reports whether err is a database error that running the same
// work again may not meet: a deadlock, a serialization failure or a lock
// that could not be had (PostgreSQL), or a busy database (SQLite).
func Transient(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "40001", "40P01", "55P03":
			return true
		}
	}
	type coded interface{ Code() int }
	var c coded
	if errors.As(err, &c) {
		switch c.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}
