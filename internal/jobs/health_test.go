package jobs

import (
	"testing"
	"time"

	"github.com/berthhq/berth/internal/store"
)

// A queue is stuck only when a job has been due too long and no job
// completed meanwhile: a long backlog being worked is not.
func TestStuck(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	long, short := now.Add(-StuckAfter-time.Second), now.Add(-time.Second)
	for _, c := range []struct {
		name string
		jt   store.JobTimes
		want bool
	}{
		{"empty queue", store.JobTimes{}, false},
		{"empty queue, old completion", store.JobTimes{LastCompleted: long}, false},
		{"due a moment ago", store.JobTimes{OldestAvailable: short}, false},
		{"due long, never completed", store.JobTimes{OldestAvailable: long}, true},
		{"due long, none completed lately", store.JobTimes{OldestAvailable: long, LastCompleted: long}, true},
		{"due long, backlog being worked", store.JobTimes{OldestAvailable: long, LastCompleted: short}, false},
	} {
		if got := Stuck(now, c.jt); got != c.want {
			t.Errorf("%s: Stuck = %v, want %v", c.name, got, c.want)
		}
	}
}
