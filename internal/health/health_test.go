package health

import (
	"slices"
	"testing"
	"time"
	"unsafe"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func ok(at time.Time, lat time.Duration) Outcome { return Outcome{At: at, Latency: lat} }
func fail(at time.Time) Outcome {
	return Outcome{At: at, Failed: true, Latency: 100 * time.Millisecond}
}

func TestNothingKnownIsHealthy(t *testing.T) {
	var s State
	r := s.Report(Config{}, t0)
	if r.Score != 1 || r.Degraded || len(r.Reasons) != 0 || r.Reasons == nil {
		t.Fatalf("empty state: %+v", r)
	}
	if h := Healthy(); h.Score != 1 || h.Reasons == nil {
		t.Fatalf("Healthy() = %+v", h)
	}
}

func TestOneFailureDoesNotDegradeTwoDo(t *testing.T) {
	var s State
	s.Record(Config{}, fail(t0))
	r := s.Report(Config{}, t0)
	if r.Score != 0.75 || r.Degraded {
		t.Fatalf("one failure: %+v", r)
	}
	if want := []string{"1 of the last 1 provider calls failed"}; !slices.Equal(r.Reasons, want) {
		t.Fatalf("reasons %q, want %q", r.Reasons, want)
	}
	s.Record(Config{}, fail(t0.Add(time.Second)))
	if r := s.Report(Config{}, t0.Add(time.Second)); !r.Degraded || r.Score >= 0.61 || r.Score < 0.59 {
		t.Fatalf("two failures: %+v", r)
	}
}

func TestFailureRatioAndReasons(t *testing.T) {
	var s State
	c := Config{}
	at := t0
	// 7 good, then 3 failed, one of them a timeout: the last 10.
	for range 7 {
		s.Record(c, ok(at, 200*time.Millisecond))
		at = at.Add(time.Second)
	}
	s.Record(c, fail(at))
	s.Record(c, fail(at))
	s.Record(c, Outcome{At: at, Timeout: true, Latency: 10 * time.Second})
	r := s.Report(c, at)
	want := "3 of the last 10 provider calls failed (1 timed out)"
	if len(r.Reasons) == 0 || r.Reasons[0] != want {
		t.Fatalf("reasons %q, want first %q", r.Reasons, want)
	}
	// bad = 1 + 1 + 2 = 4 over 10 (+3 prior): score about 0.69, and the
	// 10 s timeout drives the p95 over the target too.
	if !r.Degraded || r.Score > 0.7 {
		t.Fatalf("report %+v: want degraded", r)
	}
	if r.Causes[0].Code != CauseFailures || r.Causes[0].N != 3 || r.Causes[0].Of != 10 || r.Causes[0].Timeouts != 1 {
		t.Fatalf("causes %+v", r.Causes)
	}
}

func TestDecayRestoresHealth(t *testing.T) {
	var s State
	c := Config{HalfLife: time.Minute}
	for i := range 5 {
		s.Record(c, fail(t0.Add(time.Duration(i)*time.Second)))
	}
	r0 := s.Report(c, t0.Add(5*time.Second))
	if !r0.Degraded || r0.Score > 0.4 {
		t.Fatalf("after 5 failures: %+v", r0)
	}
	r1 := s.Report(c, t0.Add(2*time.Minute))
	if r1.Score <= r0.Score {
		t.Fatalf("two half-lives later the score did not rise: %v -> %v", r0.Score, r1.Score)
	}
	// After 4 half-lives the outcomes are no longer recent: no reasons, and
	// the decayed failures weigh little against the prior.
	r2 := s.Report(c, t0.Add(10*time.Minute))
	if r2.Degraded || r2.Score < 0.9 || len(r2.Reasons) != 0 {
		t.Fatalf("ten half-lives later: %+v", r2)
	}
	// Good outcomes after bad ones lift the score too.
	var g State
	for i := range 3 {
		g.Record(c, fail(t0.Add(time.Duration(i)*time.Second)))
	}
	before := g.Report(c, t0.Add(3*time.Second)).Score
	for i := range 20 {
		g.Record(c, ok(t0.Add(time.Duration(3+i)*time.Second), 100*time.Millisecond))
	}
	if after := g.Report(c, t0.Add(23*time.Second)); after.Score <= before || after.Degraded {
		t.Fatalf("20 good calls after 3 failures: %v -> %+v", before, after)
	}
}

func TestLatency(t *testing.T) {
	var s State
	c := Config{LatencyTarget: 2 * time.Second}
	for i := range 10 {
		s.Record(c, ok(t0.Add(time.Duration(i)*time.Second), 4200*time.Millisecond))
	}
	r := s.Report(c, t0.Add(10*time.Second))
	// (4.2 - 2) / 6 = 0.367 over: 1 - 0.5*0.367 = 0.82.
	if r.Score != 0.82 || r.Degraded {
		t.Fatalf("slow provider: %+v", r)
	}
	if want := []string{"p95 latency 4.2 s (target 2 s)"}; !slices.Equal(r.Reasons, want) {
		t.Fatalf("reasons %q, want %q", r.Reasons, want)
	}
	// Far over the target, latency alone halves the score.
	var slow State
	for i := range 10 {
		slow.Record(c, ok(t0.Add(time.Duration(i)*time.Second), 30*time.Second))
	}
	if r := slow.Report(c, t0.Add(10*time.Second)); r.Score != 0.5 || !r.Degraded {
		t.Fatalf("very slow provider: %+v", r)
	}
	// Two slow calls are not enough to judge.
	var few State
	few.Record(c, ok(t0, 30*time.Second))
	few.Record(c, ok(t0, 30*time.Second))
	if r := few.Report(c, t0); r.Score != 1 {
		t.Fatalf("two slow calls: %+v", r)
	}
}

func TestStepByStepDegradation(t *testing.T) {
	// A provider whose failure rate rises in steps: the score falls at
	// every step and crosses the threshold before every call fails.
	c := Config{}
	var s State
	at := t0
	prev := 1.0
	crossed := -1
	for step, rate := range []int{0, 2, 4, 6, 8, 10} { // failures in 10
		for i := range 10 {
			if i < rate {
				s.Record(c, fail(at))
			} else {
				s.Record(c, ok(at, 100*time.Millisecond))
			}
			at = at.Add(3 * time.Second)
		}
		r := s.Report(c, at)
		if step > 0 && r.Score >= prev {
			t.Fatalf("step %d (%d/10 failing): score %v did not fall below %v", step, rate, r.Score, prev)
		}
		if r.Degraded && crossed < 0 {
			crossed = step
		}
		prev = r.Score
	}
	if crossed < 1 || crossed > 3 {
		t.Fatalf("degraded first at step %d, want at 2-6 failures in 10", crossed)
	}
}

func TestProbeSuccessesDoNotCount(t *testing.T) {
	var s State
	c := Config{}
	s.Record(c, fail(t0))
	s.Record(c, fail(t0))
	for i := range 50 {
		s.Record(c, Outcome{At: t0.Add(time.Duration(i) * time.Second), Probe: true, Latency: time.Millisecond})
	}
	if r := s.Report(c, t0.Add(50*time.Second)); !r.Degraded || len(r.Causes) != 1 || r.Causes[0].Of != 2 {
		t.Fatalf("50 good probes after 2 failed deliveries: %+v", r)
	}
	s.Record(c, Outcome{At: t0.Add(time.Minute), Probe: true, Failed: true})
	if r := s.Report(c, t0.Add(time.Minute)); r.Causes[0].N != 3 {
		t.Fatalf("a failed probe counts: %+v", r)
	}
}

func TestBook(t *testing.T) {
	b := NewBook(Config{})
	if r := b.Report(7, t0); r.Score != 1 {
		t.Fatalf("unknown pool: %+v", r)
	}
	b.Record(7, fail(t0))
	r := b.Record(7, fail(t0))
	if !r.Degraded {
		t.Fatalf("two failures: %+v", r)
	}
	if all := b.Reports(t0); len(all) != 1 || !all[7].Degraded {
		t.Fatalf("Reports = %+v", all)
	}
	b.Forget(7)
	if r := b.Report(7, t0); r.Score != 1 {
		t.Fatalf("forgotten pool: %+v", r)
	}
	if c := b.Config(); c.HalfLife != DefaultHalfLife || c.Threshold != DefaultThreshold {
		t.Fatalf("defaults: %+v", c)
	}
}

// Hysteresis: a degraded pool stays degraded until its score reaches the
// threshold plus the recovery margin (0.7 + 0.1), a healthy one is
// degraded only below the threshold; no flapping between the tiers.
func TestDegradedHysteresis(t *testing.T) {
	c := Config{}.WithDefaults()
	if c.RecoveryMargin != DefaultRecoveryMargin || c.Recovered() != c.Threshold+DefaultRecoveryMargin {
		t.Fatalf("defaults: %+v, recovered at %v", c, c.Recovered())
	}
	was := false
	for _, step := range []struct {
		score float64
		want  bool
	}{{0.65, true}, {0.72, true}, {0.75, true}, {0.79, true}, {0.8, false}, {0.81, false}, {0.72, false}, {0.7, false}, {0.69, true}, {0.75, true}, {0.81, false}} {
		if was = c.Degraded(step.score, was); was != step.want {
			t.Fatalf("score %v: degraded %v, want %v", step.score, was, step.want)
		}
	}
	// A healthy pool at 0.72 is healthy.
	if c.Degraded(0.72, false) {
		t.Fatal("a healthy pool at 0.72 became degraded")
	}
	// The margin is clamped: a pool is healthy again at 1 at most.
	hi := Config{Threshold: 0.95, RecoveryMargin: 0.5}.WithDefaults()
	if hi.Recovered() != 1 || hi.Degraded(1, true) || !hi.Degraded(0.99, true) {
		t.Fatalf("threshold 0.95, margin 0.5: recovered at %v", hi.Recovered())
	}
	if c := (Config{Threshold: 0.5, RecoveryMargin: 0.3}).WithDefaults(); !c.Degraded(0.79, true) || c.Degraded(0.8, true) {
		t.Fatalf("threshold 0.5, margin 0.3: recovered at %v", c.Recovered())
	}
}

// The book keeps each pool's tier: two failures degrade a pool (0.6); as
// they decay its score passes the threshold (0.75 after one half-life)
// and the pool stays degraded until 0.8; a pool that was never degraded is
// healthy at 0.75. Every way of asking (Report, Reports, Record) keeps it.
func TestBookHysteresis(t *testing.T) {
	b := NewBook(Config{})
	b.Record(1, fail(t0))
	if r := b.Record(1, fail(t0)); !r.Degraded || r.Score != 0.6 {
		t.Fatalf("two failures: %+v", r)
	}
	hl := DefaultHalfLife
	if r := b.Report(1, t0.Add(hl)); r.Score != 0.75 || !r.Degraded {
		t.Fatalf("one half-life on, 0.75 in the margin: %+v", r)
	}
	if r := b.Reports(t0.Add(hl + hl/5))[1]; r.Score != 0.78 || !r.Degraded {
		t.Fatalf("0.78, still in the margin: %+v", r)
	}
	if r := b.Report(1, t0.Add(hl+hl/2)); r.Score != 0.81 || r.Degraded {
		t.Fatalf("past the margin: %+v", r)
	}
	// Healthy again: back in the margin, it stays healthy.
	if r := b.Report(1, t0.Add(hl)); r.Score != 0.75 || r.Degraded {
		t.Fatalf("healthy pool at 0.75: %+v", r)
	}
	// One failure: 0.75 from healthy, never degraded.
	b.Record(2, fail(t0))
	if r := b.Report(2, t0); r.Score != 0.75 || r.Degraded {
		t.Fatalf("one failure: %+v", r)
	}
	// The state alone: Report keeps nothing, Assess does.
	var s State
	s.Record(Config{}, fail(t0))
	s.Record(Config{}, fail(t0))
	if r := s.Report(Config{}, t0); !r.Degraded {
		t.Fatalf("two failures: %+v", r)
	}
	if r := s.Report(Config{}, t0.Add(hl)); r.Degraded {
		t.Fatalf("Report without Assess kept a tier: %+v", r)
	}
	s.Assess(Config{}, t0)
	if r := s.Report(Config{}, t0.Add(hl)); !r.Degraded {
		t.Fatalf("Assess did not keep the tier: %+v", r)
	}
}

func TestStateSize(t *testing.T) {
	if n := unsafe.Sizeof(State{}); n > 400 {
		t.Fatalf("a pool's state takes %d bytes", n)
	}
	o := Outcome{At: t0.Add(123 * time.Nanosecond), Failed: true, Timeout: true, Latency: 4200 * time.Millisecond}
	if got := pack(o).outcome(); !got.At.Equal(o.At) || got != (Outcome{At: got.At, Failed: true, Timeout: true, Latency: o.Latency}) {
		t.Fatalf("packed %+v, unpacked %+v", o, got)
	}
	if got := pack(Outcome{At: t0, Latency: time.Hour}).outcome().Latency; got < 35*time.Minute {
		t.Fatalf("an hour's latency unpacked as %v", got)
	}
}
