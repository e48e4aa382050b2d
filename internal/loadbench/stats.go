package loadbench

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sample is what one load run observed: the latency of every answered
// request, the answers by status, and the requests that got no answer.
type sample struct {
	durs    []time.Duration
	status  map[int]int
	netErrs int
	lastErr string
	elapsed time.Duration
	// stopped is set when the run stopped feeding work because it reached
	// its time limit.
	stopped bool
}

func newSample() *sample { return &sample{status: map[int]int{}} }

// answered is the number of requests that got an HTTP answer.
func (s *sample) answered() int { return len(s.durs) }

// ok is the number of 2xx answers.
func (s *sample) ok() int {
	n := 0
	for code, c := range s.status {
		if code >= 200 && code < 300 {
			n += c
		}
	}
	return n
}

// merge adds o's observations to s (elapsed is not touched).
func (s *sample) merge(o *sample) {
	s.durs = append(s.durs, o.durs...)
	for k, v := range o.status {
		s.status[k] += v
	}
	s.netErrs += o.netErrs
	if o.lastErr != "" {
		s.lastErr = o.lastErr
	}
}

// percentile returns the q-quantile (0 < q ≤ 1) of durs by the nearest-rank
// method: the smallest value with at least q of the values at or below it.
// durs must be sorted; an empty slice gives 0.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps float error (0.99*100 = 99.00000000000001) from
	// moving an exact rank up by one.
	rank := int(math.Ceil(q*float64(len(sorted)) - 1e-9))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// errorCounts lists the non-2xx answers by status, and the requests that
// got no answer as "net".
func (s *sample) errorCounts() map[string]int {
	out := map[string]int{}
	for code, c := range s.status {
		if code < 200 || code >= 300 {
			out[strconv.Itoa(code)] += c
		}
	}
	if s.netErrs > 0 {
		out["net"] = s.netErrs
	}
	return out
}

// formatErrors writes error counts as "403×20000, net×2" in a stable order,
// or "0" when there are none.
func formatErrors(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	return joinCounts(m, "%s×%d")
}

// joinCounts lists counts by key, keys sorted, each written with format
// (a %s for the key, a %d for the count), comma-separated.
func joinCounts(m map[string]int, format string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(format, k, m[k])
	}
	return strings.Join(parts, ", ")
}

// result turns the sample into a report row; RPS counts units per second
// (requests, or accounts for the import).
func (s *sample) result(name string, units int) Result {
	sorted := slices.Clone(s.durs)
	slices.Sort(sorted)
	r := Result{
		Workload: name,
		Unit:     "requests",
		Requests: s.answered() + s.netErrs,
		Seconds:  s.elapsed.Seconds(),
		P50MS:    ms(percentile(sorted, 0.50)),
		P99MS:    ms(percentile(sorted, 0.99)),
		Errors:   s.errorCounts(),
		Stopped:  s.stopped,
	}
	if s.elapsed > 0 {
		r.RPS = float64(units) / s.elapsed.Seconds()
	}
	if s.lastErr != "" {
		r.Notes = append(r.Notes, "last transport error: "+s.lastErr)
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
