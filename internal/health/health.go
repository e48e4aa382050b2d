// Package health scores each pool's health in [0, 1] from its recent
// provider outcomes (deliveries, removals, probes): the share of calls that
// failed, timeouts weighing more than other failures, and the p95 latency
// against a target, all decayed with a half-life so that old trouble fades
// (docs/design.md, "Health").
//
// The scorer is pure: no clock, no I/O. The time of each outcome, and the
// time a score is asked for, are passed in. A [Book] holds the state of
// every pool for one process (safe for concurrent use); the placement
// runtime (package alloc) feeds it and down-ranks the pools it calls
// degraded (score below [Config.Threshold]; once degraded, until the score
// is back at [Config.Threshold] + [Config.RecoveryMargin]) before the
// health monitor marks them offline.
package health

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Config tunes the scorer. The zero value of each field means its default.
type Config struct {
	// HalfLife is how long it takes an outcome's weight to halve (default
	// 5 minutes).
	HalfLife time.Duration
	// LatencyTarget is the p95 latency a healthy provider stays under
	// (default 2 s). At three times over it the latency alone halves the
	// score.
	LatencyTarget time.Duration
	// Threshold: a pool scoring below it is degraded (default 0.7).
	Threshold float64
	// RecoveryMargin: a degraded pool is healthy again only once its score
	// reaches Threshold + RecoveryMargin (default 0.1; the sum at most 1),
	// so a score hovering around the threshold does not flip the pool
	// between placement's tiers on every outcome.
	RecoveryMargin float64
}

// Defaults.
const (
	DefaultHalfLife      = 5 * time.Minute
	DefaultLatencyTarget = 2 * time.Second
	DefaultThreshold     = 0.7
	// DefaultRecoveryMargin: a pool degraded below 0.7 is healthy again
	// at 0.8.
	DefaultRecoveryMargin = 0.1
)

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.HalfLife <= 0 {
		c.HalfLife = DefaultHalfLife
	}
	if c.LatencyTarget <= 0 {
		c.LatencyTarget = DefaultLatencyTarget
	}
	if c.Threshold <= 0 || c.Threshold > 1 {
		c.Threshold = DefaultThreshold
	}
	if c.RecoveryMargin <= 0 || c.RecoveryMargin > 1 {
		c.RecoveryMargin = DefaultRecoveryMargin
	}
	return c
}

// Recovered is the score at which a degraded pool is healthy again:
// Threshold + RecoveryMargin, at most 1. c has its defaults.
func (c Config) Recovered() float64 { return min(c.Threshold+c.RecoveryMargin, 1) }

// Degraded is the tier of a pool scoring score that was degraded (was) or
// healthy at its last report: a healthy pool is degraded below the
// threshold, a degraded one stays so until its score reaches
// [Config.Recovered] (hysteresis: no flapping between placement's tiers
// while the score hovers around the threshold). c has its defaults.
func (c Config) Degraded(score float64, was bool) bool {
	if was {
		// Scores have two decimals; the sum of two settings may be a
		// hair off its decimal (0.7 + 0.1 = 0.7999999999999999).
		return score < c.Recovered()-1e-9
	}
	return score < c.Threshold
}

// Weights of the score.
const (
	// prior is the number of good outcomes every pool is assumed to have
	// had: a first failure alone does not make a pool degraded (score
	// 1 - 1/(1+3) = 0.75), two in a row do (1 - 2/(2+3) = 0.6).
	prior = 3.0
	// timeoutWeight: a timeout counts as this many failures (a provider
	// that hangs holds a worker for the whole timeout).
	timeoutWeight = 2.0
	// latencyShare is the most the latency can take off the score.
	latencyShare = 0.5
	// recentN outcomes are kept for the reasons and the p95.
	recentN = 20
	// reasonN: the reasons speak of the last reasonN outcomes.
	reasonN = 10
	// minLatencySamples: fewer recent outcomes say nothing of latency.
	minLatencySamples = 3
	// forgetAfter half-lives, an outcome is no longer recent.
	forgetAfter = 4
)

// Outcome is one provider call's result for a pool.
type Outcome struct {
	At time.Time
	// Failed: the call did not do what was asked (any error that is not the
	// member's own fault).
	Failed bool
	// Timeout: it failed by running out of time (implies Failed).
	Timeout bool
	// Latency is how long the call took.
	Latency time.Duration
	// Probe: the health monitor's cheap check. Its failures count like any
	// other; its successes are not recorded (a probe that answers says
	// little of whether deliveries work, and probes come every interval,
	// so they would drown the deliveries' failures).
	Probe bool
}

// Cause is one reason for a score, as data (the console words it in the
// reader's language; [Cause.String] is the English wording).
type Cause struct {
	// Code is CauseFailures or CauseLatency.
	Code string `json:"code"`
	// Failures: N of the last Of outcomes failed, Timeouts of them by
	// timing out.
	N        int `json:"n,omitempty"`
	Of       int `json:"of,omitempty"`
	Timeouts int `json:"timeouts,omitempty"`
	// Latency: the p95 latency and the target, in seconds.
	P95    float64 `json:"p95_seconds,omitempty"`
	Target float64 `json:"target_seconds,omitempty"`
}

// Cause codes.
const (
	CauseFailures = "failures"
	CauseLatency  = "latency"
)

// String words c in English, e.g. "3 of the last 10 provider calls failed
// (1 timed out)" or "p95 latency 4.2 s (target 2 s)".
func (c Cause) String() string {
	switch c.Code {
	case CauseFailures:
		s := fmt.Sprintf("%d of the last %d provider calls failed", c.N, c.Of)
		if c.Timeouts > 0 {
			s += fmt.Sprintf(" (%d timed out)", c.Timeouts)
		}
		return s
	case CauseLatency:
		return "p95 latency " + Seconds(c.P95) + " s (target " + Seconds(c.Target) + " s)"
	}
	return c.Code
}

// Seconds formats a number of seconds with at most one decimal.
func Seconds(s float64) string { return strconv.FormatFloat(math.Round(s*10)/10, 'f', -1, 64) }

// Report is a pool's health as the API shows it: {"score": 0.8,
// "reasons": [...]}.
type Report struct {
	// Score in [0, 1], two decimals; 1 when nothing recent went wrong (or
	// nothing is known).
	Score float64 `json:"score"`
	// Degraded: the score is below the threshold (or, for a pool degraded
	// at its last report, below the threshold plus the recovery margin), so
	// placement puts the pool after every healthy one.
	Degraded bool `json:"degraded"`
	// Reasons word Causes in English; empty when healthy for want of news.
	Reasons []string `json:"reasons"`
	// Causes are the reasons as data.
	Causes []Cause `json:"-"`
}

// Healthy is the report of a pool nothing is known about.
func Healthy() Report { return Report{Score: 1, Reasons: []string{}} }

// State is one pool's recent outcomes. The zero value is a pool with none.
// It takes about 360 bytes (36 MB for 100,000 pools that all had calls).
type State struct {
	at     time.Time // when n and bad were last decayed
	n, bad float64   // decayed sums: outcomes, failures (timeouts weigh timeoutWeight)
	recent [recentN]rec
	head   int // next slot of recent
	count  int // filled slots of recent
	// degraded: the tier of the last report kept ([State.Assess]); a
	// degraded pool recovers only at Threshold + RecoveryMargin.
	degraded bool
}

// rec is an Outcome packed into 16 bytes: its time in Unix nanoseconds,
// its latency in microseconds (at most about 35 minutes) and its flags.
type rec struct {
	at      int64
	latency int32
	failed  bool
	timeout bool
}

func pack(o Outcome) rec {
	us := min(o.Latency.Microseconds(), math.MaxInt32)
	return rec{at: o.At.UnixNano(), latency: int32(max(us, 0)), failed: o.Failed, timeout: o.Timeout}
}

func (r rec) outcome() Outcome {
	return Outcome{At: time.Unix(0, r.at), Failed: r.failed, Timeout: r.timeout, Latency: time.Duration(r.latency) * time.Microsecond}
}

// decay returns the factor an outcome's weight is multiplied by after d.
func decay(c Config, d time.Duration) float64 {
	if d <= 0 {
		return 1
	}
	return math.Exp2(-float64(d) / float64(c.HalfLife))
}

// Record adds an outcome. Outcomes may arrive slightly out of order (from
// concurrent workers); an older one is weighed as if it came now.
func (s *State) Record(c Config, o Outcome) {
	c = c.WithDefaults()
	if o.Timeout {
		o.Failed = true
	}
	if o.Probe && !o.Failed {
		return
	}
	if o.At.After(s.at) {
		f := decay(c, o.At.Sub(s.at))
		s.n, s.bad, s.at = s.n*f, s.bad*f, o.At
	}
	s.n++
	switch {
	case o.Timeout:
		s.bad += timeoutWeight
	case o.Failed:
		s.bad++
	}
	s.recent[s.head] = pack(o)
	s.head = (s.head + 1) % recentN
	s.count = min(s.count+1, recentN)
}

// last returns the recent outcomes no older than the forget horizon,
// newest first.
func (s *State) last(c Config, now time.Time) []Outcome {
	horizon := now.Add(-forgetAfter * c.HalfLife)
	out := make([]Outcome, 0, s.count)
	for i := range s.count {
		o := s.recent[(s.head-1-i+recentN)%recentN].outcome()
		if o.At.Before(horizon) {
			continue
		}
		out = append(out, o)
	}
	return out
}

// Report scores the pool at now. Its Degraded follows the tier of the last
// report kept by [State.Assess] (hysteresis, [Config.Degraded]); Report
// itself changes nothing.
func (s *State) Report(c Config, now time.Time) Report {
	c = c.WithDefaults()
	r := Report{Reasons: []string{}}
	// The share of failures: over every outcome, decayed, and over the
	// last reasonN alone, decayed too; the worse counts, so a pool with a
	// long good past still falls as soon as its latest calls fail.
	f := decay(c, now.Sub(s.at))
	ratio := s.bad * f / (s.n*f + prior)
	recent := s.last(c, now)
	var wn, wbad float64
	for _, o := range recent[:min(len(recent), reasonN)] {
		w := decay(c, now.Sub(o.At))
		wn += w
		switch {
		case o.Timeout:
			wbad += timeoutWeight * w
		case o.Failed:
			wbad += w
		}
	}
	ratio = max(ratio, wbad/(wn+prior))
	failScore := 1 - min(ratio, 1)

	latScore := 1.0
	var lat []time.Duration
	for _, o := range recent {
		if !o.Failed || o.Timeout {
			lat = append(lat, o.Latency)
		}
	}
	var p95 time.Duration
	if len(lat) >= minLatencySamples {
		slices.Sort(lat)
		p95 = lat[int(math.Ceil(0.95*float64(len(lat))))-1]
		if over := float64(p95-c.LatencyTarget) / float64(3*c.LatencyTarget); over > 0 {
			latScore = 1 - latencyShare*min(over, 1)
		}
	}
	r.Score = math.Round(failScore*latScore*100) / 100
	r.Degraded = c.Degraded(r.Score, s.degraded)

	if len(recent) > 0 {
		tail := recent[:min(len(recent), reasonN)]
		fc := Cause{Code: CauseFailures, Of: len(tail)}
		for _, o := range tail {
			if o.Failed {
				fc.N++
			}
			if o.Timeout {
				fc.Timeouts++
			}
		}
		if fc.N > 0 {
			r.Causes = append(r.Causes, fc)
		}
	}
	if latScore < 1 {
		r.Causes = append(r.Causes, Cause{Code: CauseLatency, P95: p95.Seconds(), Target: c.LatencyTarget.Seconds()})
	}
	for _, cause := range r.Causes {
		r.Reasons = append(r.Reasons, cause.String())
	}
	return r
}

// Assess is [State.Report] that keeps the report's tier for the next one.
func (s *State) Assess(c Config, now time.Time) Report {
	r := s.Report(c, now)
	s.degraded = r.Degraded
	return r
}

// Book holds the health of every pool of one process. It is safe for
// concurrent use.
type Book struct {
	cfg   Config
	mu    sync.Mutex
	pools map[int64]*State
}

// NewBook returns an empty book scoring with cfg.
func NewBook(cfg Config) *Book {
	return &Book{cfg: cfg.WithDefaults(), pools: map[int64]*State{}}
}

// Config is the book's configuration, defaults applied.
func (b *Book) Config() Config { return b.cfg }

// Record adds an outcome for a pool and returns the pool's report at the
// outcome's time.
func (b *Book) Record(pool int64, o Outcome) Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.pools[pool]
	if s == nil {
		s = &State{}
		b.pools[pool] = s
	}
	s.Record(b.cfg, o)
	return s.Assess(b.cfg, o.At)
}

// Report is a pool's report at now; [Healthy] when nothing is known. It
// keeps the pool's tier for the next report (hysteresis), as Record and
// Reports do.
func (b *Book) Report(pool int64, now time.Time) Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.pools[pool]; s != nil {
		return s.Assess(b.cfg, now)
	}
	return Healthy()
}

// Reports returns the report at now of every pool with outcomes on record
// (the others are healthy).
func (b *Book) Reports(now time.Time) map[int64]Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[int64]Report, len(b.pools))
	for id, s := range b.pools {
		out[id] = s.Assess(b.cfg, now)
	}
	return out
}

// Forget drops a pool (it was deleted).
func (b *Book) Forget(pool int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pools, pool)
}
