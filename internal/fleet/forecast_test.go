package fleet

import (
	"testing"
	"time"
)

func TestFullIn(t *testing.T) {
	h := time.Hour
	for _, tc := range []struct {
		free  int
		rate  float64
		rel   []time.Duration
		want  time.Duration
		never bool
	}{
		{0, 5, nil, 0, false},
		{-1, 5, nil, 0, false},
		{10, 0, nil, 0, true},
		{10, 5, nil, 2 * h, false},
		// Two releases before the pools fill push it out by two placements.
		{6, 4, []time.Duration{h / 2, 90 * time.Minute}, 2 * h, false},
		// A release after the pools are full does not help.
		{4, 4, []time.Duration{3 * h}, h, false},
	} {
		got, never := fullIn(tc.free, tc.rate, tc.rel)
		if got != tc.want || never != tc.never {
			t.Errorf("fullIn(%d, %v, %v) = %v, %v; want %v, %v", tc.free, tc.rate, tc.rel, got, never, tc.want, tc.never)
		}
	}
}

func TestPoolsNeeded(t *testing.T) {
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		free, due int
		rate, avg float64
		want      int
	}{
		{100, 0, 0, 10, 0},
		{1000, 0, 5, 10, 0},  // 840 needed, 1000 free
		{600, 40, 5, 10, 20}, // 840 - 640 = 200 → 20 pools of 10
		{600, 41, 5, 10, 20}, // 199 → 19.9 → 20
		{0, 0, 1, 0, 0},      // no pools to size from
	} {
		if got := poolsNeeded(tc.free, tc.rate, tc.due, week, tc.avg); got != tc.want {
			t.Errorf("poolsNeeded(%+v) = %d", tc, got)
		}
	}
}
