package metrics

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// berth_pool_health_score is a per-pool series: one per pool while the
// fleet is within BERTH_METRICS_POOL_SERIES, 1 for a pool without news,
// and absent over the cap or without a health source.
func TestPoolHealthSeries(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	makePools(t, st, 1, 3)
	p1, err := st.Reader().PoolGetByName(t.Context(), "pool-01")
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	scores := func() map[int64]float64 { calls++; return map[int64]float64{p1.ID: 0.42} }
	reg := func(cfg Config) *prometheus.Registry {
		sc := newStateCollectorConfig(st, slog.New(slog.DiscardHandler), cfg)
		r := prometheus.NewRegistry()
		r.MustRegister(collector{s: sc, health: cfg.Health})
		return r
	}
	r := reg(Config{Health: scores})
	if v, ok := value(t, r, "berth_pool_health_score", map[string]string{"pool": "pool-01", "kind": "server"}); !ok || v != 0.42 {
		t.Errorf("pool-01: %v (%v), want 0.42", v, ok)
	}
	if v, ok := value(t, r, "berth_pool_health_score", map[string]string{"pool": "pool-02", "kind": "team"}); !ok || v != 1 {
		t.Errorf("pool-02: %v (%v), want 1", v, ok)
	}
	calls = 0
	if _, ok := value(t, reg(Config{Health: scores, PoolSeries: 2}), "berth_pool_health_score", map[string]string{"pool": "pool-01", "kind": "server"}); ok || calls != 0 {
		t.Errorf("over the per-pool cap: exported %v, health read %d times", ok, calls)
	}
	if _, ok := value(t, reg(Config{}), "berth_pool_health_score", map[string]string{"pool": "pool-01", "kind": "server"}); ok {
		t.Error("exported without a health source")
	}
}
