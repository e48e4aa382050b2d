package app_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/store"
)

// app.Config.Metrics reaches /metrics: with no network allowed, even
// loopback needs the metrics token, and the admin token is not it.
func TestMetricsAccessConfigured(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-0123456789abc"
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Metrics = metrics.Config{AllowedNets: []netip.Prefix{}, Token: token}
	})
	r := h.DoAuth("GET", "/metrics", nil, "").MustStatus(t, 403)
	if !strings.Contains(string(r.Body), "BERTH_METRICS_TOKEN") {
		t.Errorf("refusal: %s", r.Body)
	}
	h.DoAuth("GET", "/metrics", nil, apptest.Token).MustStatus(t, 403)
	if body := string(h.DoAuth("GET", "/metrics", nil, token).MustStatus(t, 200).Body); !strings.Contains(body, "berth_pool_series_exported 1") {
		t.Errorf("scrape with the token:\n%.500s", body)
	}
}
