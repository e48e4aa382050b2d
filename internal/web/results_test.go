package web

import (
	"testing"
	"time"
)

// A result is read once, only by its user, and not after resultTTL; the
// store stays within maxResults.
func TestResultsOnceOwnerExpiry(t *testing.T) {
	var s results
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id := s.put(7, &result{Codes: []string{"A"}}, now)
	if len(id) != 32 {
		t.Fatalf("id %q, want 128 random bits in hex", id)
	}
	if s.take(8, id, now) != nil {
		t.Fatal("another user read the result")
	}
	if r := s.take(7, id, now); r == nil || r.Codes[0] != "A" {
		t.Fatalf("the owner got %+v", r)
	}
	if s.take(7, id, now) != nil {
		t.Fatal("the result was read twice")
	}
	old := s.put(7, &result{}, now)
	if s.take(7, old, now.Add(resultTTL+time.Second)) != nil {
		t.Fatal("an expired result was read")
	}
	for range maxResults + 10 {
		s.put(1, &result{}, now)
	}
	if len(s.items) > maxResults || len(s.order) != len(s.items) {
		t.Fatalf("%d results kept (%d ids), at most %d", len(s.items), len(s.order), maxResults)
	}
}
