package store

import "database/sql"

// rowScanner is one row to read: a *sql.Row or the current row of a
// *sql.Rows. The scanX functions (scanSeat, scanMember, …) take it.
type rowScanner = interface{ Scan(...any) error }

// scanAll reads every row of a query with scan, closes rows and returns
// rows.Err(). err is the query's own error, so a listing reads
//
//	rows, err := q.db.QueryContext(ctx, query, args...)
//	return scanAll(rows, err, scanSeat)
//
// The result is never nil: an empty listing is [] in JSON, not null.
// Loops that build a map or fill a slice by position use scanEach.
func scanAll[T any](rows *sql.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	out := []T{}
	err = scanEach(rows, err, func(r rowScanner) error {
		v, err := scan(r)
		if err == nil {
			out = append(out, v)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanEach calls each for every row of a query, stopping at its first
// error, closes rows and returns rows.Err(); err is the query's own error.
// It serves the loops that build a map or fill a slice by position. rows is
// closed before scanEach returns, so a caller in a transaction may query
// again at once.
func scanEach(rows *sql.Rows, err error, each func(rowScanner) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanID reads a one-column row of ids.
func scanID(r rowScanner) (id int64, err error) {
	err = r.Scan(&id)
	return id, err
}

// scanCounts reads a two-column "key, COUNT(*) … GROUP BY key" result into
// a map from key to count.
func scanCounts[K comparable](rows *sql.Rows, err error) (map[K]int, error) {
	out := map[K]int{}
	err = scanEach(rows, err, func(r rowScanner) error {
		var k K
		var n int
		if err := r.Scan(&k, &n); err != nil {
			return err
		}
		out[k] = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
