package loadbench

import (
	"bufio"
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/adminclient"
)

// settleLimit bounds how long waitJobsIdle waits.
const settleLimit = time.Minute

// freshAfter: /metrics reuses one read of the job counts for up to 10 s
// (metrics.FleetTTL), so only a reading taken this long after seeding
// ended is known to have seen the seeding's jobs.
const freshAfter = 11 * time.Second

// waitJobsIdle waits, after seeding and before a crowd, until the server
// has no delivery, removal or drain job waiting or running (the
// berth_jobs gauge of /metrics; a reading counts once it is fresh,
// freshAfter), at most settleLimit: a crowd measured right after seeding
// would otherwise share the server with the seeding's leftover jobs (before
// jobs.Queue.DrainQueue skipped drains with nobody waiting, one per pool
// added), which is not the steady state a crowd meets (docs/bench.md §17).
// It returns how long it waited; an answer it cannot read ends the wait.
func (b *bench) waitJobsIdle(ctx context.Context) time.Duration {
	start := time.Now()
	for time.Since(start) < settleLimit {
		var buf bytes.Buffer
		if err := b.admin.Do(ctx, "GET", "/metrics", "", nil, adminclient.Raw{W: &buf}); err != nil {
			b.cfg.logf("  jobs not watched (/metrics: %v)", err)
			break
		}
		if pendingJobs(buf.Bytes()) == 0 && time.Since(start) >= freshAfter {
			break
		}
		select {
		case <-ctx.Done():
			return time.Since(start)
		case <-time.After(time.Second):
		}
	}
	d := time.Since(start)
	b.cfg.logf("  jobs idle after %.1fs", d.Seconds())
	return d
}

// pendingJobs sums the berth_jobs gauge over the seat and queue job kinds
// in the available, scheduled, retryable and running states.
func pendingJobs(metrics []byte) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(metrics))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "berth_jobs{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(line, "} ")
		if !ok || !strings.Contains(labels, `kind="deliver`) && !strings.Contains(labels, `kind="remove"`) && !strings.Contains(labels, `kind="drain_queue"`) {
			continue
		}
		if strings.Contains(labels, `state="completed"`) || strings.Contains(labels, `state="discarded"`) || strings.Contains(labels, `state="cancelled"`) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err == nil {
			n += int(v)
		}
	}
	return n
}
