package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrKeyChanged: the database's data is no longer sealed under the key
// this process seals with (a rotation finished by another process, or a
// database restored from another installation's copy).
var ErrKeyChanged = errors.New("the secret key is not the database's key")

// CheckKey is the readiness probe's key check: one read of the recorded key
// ids (the settings rows UseKey checked at the start) on the read pool. The
// key this store seals with must be the database's key, or the key an
// unfinished rotation re-seals to; a database that records no key, or a
// Sealer that names none, passes.
func (s *Store) CheckKey(ctx context.Context) error {
	ki, ok := s.seal.(KeyIdentifier)
	if !ok {
		return nil
	}
	rows, err := s.Read.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN ($1, $2)`, settingKeyID, settingKeyRotating)
	if err != nil {
		return fmt.Errorf("read the key check: %w", err)
	}
	defer rows.Close()
	have, recorded, matches := ki.KeyID(), false, false
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("read the key check: %w", err)
		}
		if v == "" {
			continue
		}
		if k == settingKeyID {
			recorded = true
		}
		matches = matches || v == have
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the key check: %w", err)
	}
	if recorded && !matches {
		return ErrKeyChanged
	}
	return nil
}

// JobTimes is what the readiness probe reads of River's job table.
type JobTimes struct {
	// OldestAvailable is when the job waiting longest to be picked up was
	// due; zero when none waits.
	OldestAvailable time.Time
	// LastCompleted is when a job last completed; zero when none has (or
	// River has already removed them).
	LastCompleted time.Time
}

// JobTimes reads, on the read pool, when the oldest available job was due
// and when a job last completed. Both are one seek on River's own indexes
// (state, …, scheduled_at and state, finalized_at).
func (s *Store) JobTimes(ctx context.Context) (JobTimes, error) {
	var avail, done any
	err := s.Read.QueryRowContext(ctx, `SELECT
		(SELECT MIN(scheduled_at) FROM river_job WHERE state = 'available'),
		(SELECT MAX(finalized_at) FROM river_job WHERE state = 'completed' AND finalized_at IS NOT NULL)`).Scan(&avail, &done)
	if err != nil {
		return JobTimes{}, fmt.Errorf("read the job queue: %w", err)
	}
	var jt JobTimes
	for _, c := range []struct {
		v  any
		to *time.Time
	}{{avail, &jt.OldestAvailable}, {done, &jt.LastCompleted}} {
		if c.v == nil {
			continue
		}
		if *c.to, err = riverTime(c.v); err != nil {
			return JobTimes{}, fmt.Errorf("read the job queue: %w", err)
		}
	}
	return jt, nil
}

// riverTime reads a River timestamp: dbTime's forms, or the form River's
// SQLite driver writes some columns in (finalized_at), Go's time.String:
// "2026-12-04 17:10:42.204723425 +0000 UTC m=+0.451912188".
func riverTime(v any) (time.Time, error) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case []byte:
		s = string(t)
	default:
		return dbTime(v)
	}
	s, _, _ = strings.Cut(s, " m=")
	if t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", s); err == nil {
		return t, nil
	}
	return dbTime(s)
}
