package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/provider"
)

// Events holds berth's process-local event counters and histograms: what
// happened in this process since it started (requests, provider calls,
// placement decisions). Handler serves it beside the gauges read from the
// database. Each replica counts its own events; sum them in PromQL.
var Events = prometheus.NewRegistry()

// Rebind request statuses (label status of rebind_requests_total).
const (
	RebindSuccess     = "success"      // the move was started or queued (or one already runs)
	RebindRateLimited = "rate_limited" // over the per-code rate (3 a minute)
	RebindLimit       = "limit"        // a paid move past the code's rebind limit
	RebindRejected    = "rejected"     // the caller's mistake: unknown code, no seat, expired…
	RebindFailed      = "failed"       // berth could not answer (internal error)
)

// Redeem outcomes (label outcome of berth_redeem_requests_total).
const (
	RedeemSeated   = "seated"    // a seat was placed (or already held)
	RedeemQueued   = "queued"    // no room: the user waits in the queue
	RedeemNotValid = "not_valid" // unknown code or bound to another e-mail
	RedeemDisabled = "disabled"
	RedeemExpired  = "expired"
	RedeemUsedUp   = "used_up"
	RedeemInvalid  = "invalid" // malformed e-mail or code
	RedeemError    = "error"   // internal error
)

// Provider call outcomes (label outcome of berth_provider_requests_total).
const (
	ProviderOK              = "ok"
	ProviderRetryable       = "retryable"
	ProviderMemberPermanent = "member_permanent"
	ProviderPoolPermanent   = "pool_permanent"
)

var (
	rebindRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rebind_requests_total",
		Help: "Public move (rebind, 换车) requests by status (success, rate_limited, limit, rejected, failed) and whether the move was free.",
	}, []string{"status", "free"})
	redeemRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "redeem_requests_total",
		Help: "Public redeem requests by outcome (seated, queued, or the kind of error).",
	}, []string{"outcome"})
	providerRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "provider_requests_total",
		Help: "Provider calls by provider type, operation (put, remove, list, check) and outcome (ok, retryable, member_permanent, pool_permanent).",
	}, []string{"provider", "operation", "outcome"})
	providerSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "provider_request_duration_seconds",
		Help:    "Latency of provider calls by provider type and operation.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"provider", "operation"})
	placementSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "placement_decision_duration_seconds",
		Help:    "Time the placement index takes to decide, by pool kind and result (placed: a pool was proposed; none: no pool can take the member).",
		Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10), // 1µs … 0.26s
	}, []string{"kind", "result"})
)

// The placement pipeline (package alloc): placements of one kind are
// gathered into batches committed in one transaction (group commit).
var (
	placerBatchSize = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "placer_batch_size",
		Help:    "Requests committed together in one placement transaction (group commit), by pool kind.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	}, []string{"kind"})
	placerCommitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "placer_batch_duration_seconds",
		Help:    "Time one placement batch holds the kind's index: its transaction from begin to commit, by pool kind.",
		Buckets: prometheus.ExponentialBuckets(1e-4, 2.5, 12), // 0.1ms … 2.4s
	}, []string{"kind"})
	placerWaitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "placer_wait_duration_seconds",
		Help:    "Time a request waited for its placement batch to start, by pool kind.",
		Buckets: prometheus.ExponentialBuckets(1e-5, 2.5, 14), // 10µs … 1.5s
	}, []string{"kind"})
	placerRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "placer_requests_total",
		Help: "Requests run by the placement pipeline, by pool kind and result (ok, failed: rolled back alone, retried: run again alone after a transient database error).",
	}, []string{"kind", "result"})
	refusedEarly = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "refused_before_lock_total",
		Help: "Requests refused by checks on the read path, before any lock or write transaction, by operation (redeem, rebind) and reason.",
	}, []string{"operation", "reason"})
	indexRebuilds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "placement_index_builds_total",
		Help: "Placement index builds from the database by pool kind and cause (first: first use or after an explicit reset, refresh: the periodic background rebuild).",
	}, []string{"kind", "cause"})
)

// PlacerBatch records one committed (or failed) placement batch.
func PlacerBatch(kind string, size int, took time.Duration) {
	placerBatchSize.WithLabelValues(kind).Observe(float64(size))
	placerCommitSeconds.WithLabelValues(kind).Observe(took.Seconds())
}

// PlacerWait records how long a request waited for its batch.
func PlacerWait(kind string, d time.Duration) {
	placerWaitSeconds.WithLabelValues(kind).Observe(d.Seconds())
}

// PlacerRequest counts one request's result in the pipeline.
func PlacerRequest(kind, result string) { placerRequests.WithLabelValues(kind, result).Inc() }

// RefusedEarly counts a request refused before the write path.
func RefusedEarly(operation, reason string) { refusedEarly.WithLabelValues(operation, reason).Inc() }

// IndexBuilt counts a placement index build.
func IndexBuilt(kind, cause string) { indexRebuilds.WithLabelValues(kind, cause).Inc() }

func init() {
	Events.MustRegister(rebindRequests, redeemRequests, providerRequests, providerSeconds, placementSeconds,
		placerBatchSize, placerCommitSeconds, placerWaitSeconds, placerRequests, refusedEarly, indexRebuilds)
	// Every series the alerts and dashboards divide by exists from the start.
	for _, s := range []string{RebindSuccess, RebindRateLimited, RebindLimit, RebindRejected, RebindFailed} {
		for _, free := range []string{"true", "false"} {
			rebindRequests.WithLabelValues(s, free)
		}
	}
	for _, o := range []string{RedeemSeated, RedeemQueued, RedeemNotValid, RedeemDisabled, RedeemExpired, RedeemUsedUp, RedeemInvalid, RedeemError} {
		redeemRequests.WithLabelValues(o)
	}
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// RebindRequest counts one public move request; status is one of the
// Rebind* constants.
func RebindRequest(status string, free bool) {
	rebindRequests.WithLabelValues(status, boolLabel(free)).Inc()
}

// RedeemRequest counts one public redeem; outcome is one of the Redeem*
// constants.
func RedeemRequest(outcome string) {
	redeemRequests.WithLabelValues(outcome).Inc()
}

// ProviderOutcome names the outcome of a provider call for the metrics.
func ProviderOutcome(err error) string {
	if err == nil {
		return ProviderOK
	}
	switch provider.Classify(err) {
	case provider.MemberPermanent:
		return ProviderMemberPermanent
	case provider.PoolPermanent:
		return ProviderPoolPermanent
	default:
		return ProviderRetryable
	}
}

// observeProvider records one provider call.
func observeProvider(typ, op string, start time.Time, err error) {
	providerSeconds.WithLabelValues(typ, op).Observe(time.Since(start).Seconds())
	providerRequests.WithLabelValues(typ, op, ProviderOutcome(err)).Inc()
}

// InstrumentProvider wraps p so that every call is counted and timed under
// the provider type typ (sim, sftp, scim, webhook).
func InstrumentProvider(typ string, p provider.Provider) provider.Provider {
	if p == nil {
		return nil
	}
	return instrumented{typ: typ, p: p}
}

type instrumented struct {
	typ string
	p   provider.Provider
}

func (i instrumented) Put(ctx context.Context, m provider.Member) error {
	start := time.Now()
	err := i.p.Put(ctx, m)
	observeProvider(i.typ, "put", start, err)
	return err
}

func (i instrumented) Remove(ctx context.Context, m provider.Member) error {
	start := time.Now()
	err := i.p.Remove(ctx, m)
	observeProvider(i.typ, "remove", start, err)
	return err
}

func (i instrumented) List(ctx context.Context) ([]string, error) {
	start := time.Now()
	ids, err := i.p.List(ctx)
	observeProvider(i.typ, "list", start, err)
	return ids, err
}

func (i instrumented) Check(ctx context.Context) error {
	start := time.Now()
	err := i.p.Check(ctx)
	observeProvider(i.typ, "check", start, err)
	return err
}

// TimePlace runs one placement decision (place is the index's Place) and
// records how long it took.
func TimePlace(place func(placement.Request) placement.Decision, req placement.Request) placement.Decision {
	start := time.Now()
	d := place(req)
	result := "placed"
	if d.Pool == nil {
		result = "none"
	}
	placementSeconds.WithLabelValues(string(req.Kind), result).Observe(time.Since(start).Seconds())
	return d
}
