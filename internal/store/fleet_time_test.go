package store

import (
	"testing"
	"time"
)

// River's timestamps come back as a time (PostgreSQL) or as text (SQLite).
func TestDBTime(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC)
	for _, in := range []any{want, "2026-01-02 03:04:05.123", []byte("2026-01-02 03:04:05.123"), "2026-01-02T03:04:05.123Z", "2026-01-02 03:04:05.123+00:00"} {
		got, err := dbTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("dbTime(%v) = %v, %v", in, got, err)
		}
	}
	if _, err := dbTime(42); err == nil {
		t.Error("dbTime(42) gave no error")
	}
}
