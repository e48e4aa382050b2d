package metrics

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// value gathers reg and returns the value of the series name{labels}.
func value(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			}
		}
	}
	return 0, false
}

// The integrity gauges come from a check cached for the TTL.
func TestIntegrityCached(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	p := storetest.Pool(t, st, store.PoolCreateParams{Name: "team-1", Kind: model.KindTeam, Capacity: 5})
	c := newStateCollector(st, slog.New(slog.DiscardHandler))
	now := time.Now()
	c.now = func() time.Time { return now }
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if v, ok := value(t, reg, "orphan_users_count", nil); !ok || v != 0 {
		t.Fatalf("orphans on an empty database: %v %v", v, ok)
	}

	// Two live seats of one member, made an hour ago: an orphan.
	st.SetClock(func() time.Time { return now.Add(-time.Hour).UTC() })
	m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: model.KindTeam, ExternalID: "u@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := st.SeatCreate(ctx, m.ID, p.ID, model.SeatActive, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	st.SetClock(func() time.Time { return now.UTC() })

	now = now.Add(SlowTTL / 2)
	if v, _ := value(t, reg, "orphan_users_count", nil); v != 0 {
		t.Fatalf("the check was not cached: orphans %v", v)
	}
	if v, _ := value(t, reg, "berth_integrity_checked_age_seconds", nil); v != (SlowTTL / 2).Seconds() {
		t.Fatalf("check age %v", v)
	}
	now = now.Add(SlowTTL)
	if v, _ := value(t, reg, "orphan_users_count", nil); v != 1 {
		t.Fatalf("orphans after the TTL: %v", v)
	}
	if v, _ := value(t, reg, "berth_seats_by_kind", map[string]string{"kind": "team", "state": "active"}); v != 2 {
		t.Fatalf("active team seats %v", v)
	}
}

type fakeProvider struct{ err error }

func (f fakeProvider) Put(context.Context, provider.Member) error    { return f.err }
func (f fakeProvider) Remove(context.Context, provider.Member) error { return f.err }
func (f fakeProvider) List(context.Context) ([]string, error)        { return nil, f.err }
func (f fakeProvider) Check(context.Context) error                   { return f.err }

func TestInstrumentProvider(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err     error
		outcome string
	}{
		{nil, ProviderOK},
		{errors.New("timeout"), ProviderRetryable},
		{provider.Errorf(provider.MemberPermanent, "no such user"), ProviderMemberPermanent},
		{provider.Errorf(provider.PoolPermanent, "bad key"), ProviderPoolPermanent},
	} {
		p := InstrumentProvider("fake", fakeProvider{tc.err})
		before := counterValue(t, providerRequests.WithLabelValues("fake", "put", tc.outcome))
		if err := p.Put(ctx, provider.Member{}); !errors.Is(err, tc.err) {
			t.Fatalf("error changed: %v", err)
		}
		p.Remove(ctx, provider.Member{})
		p.List(ctx)
		p.Check(ctx)
		if got := counterValue(t, providerRequests.WithLabelValues("fake", "put", tc.outcome)) - before; got != 1 {
			t.Errorf("%s puts counted %v", tc.outcome, got)
		}
		for _, op := range []string{"remove", "list", "check"} {
			if counterValue(t, providerRequests.WithLabelValues("fake", op, tc.outcome)) < 1 {
				t.Errorf("%s %s not counted", op, tc.outcome)
			}
		}
	}
	if InstrumentProvider("fake", nil) != nil {
		t.Error("a nil provider was wrapped")
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
