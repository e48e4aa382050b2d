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
// Loops that build a map or fill a slice by position stay written out.
func scanAll[T any](rows *sql.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
