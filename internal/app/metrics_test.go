package app_test

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
)

func TestMetrics(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	ids := fleet(h)
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids["manila"]}, "status": "offline"}).MustStatus(t, 200)
	h.Import("A", apptest.Files("acct", 1, 12))
	r := h.DoAuth("GET", "/metrics", nil, "").MustStatus(t, 200)
	body := string(r.Body)
	for _, want := range []string{
		`berth_pool_capacity{group="",kind="server",pool="worker-01"} 5`,
		`berth_pool_used{group="",kind="server",pool="worker-01"} 5`,
		`berth_pool_used{group="",kind="server",pool="los-angeles"} 5`,
		`berth_pool_status{kind="server",pool="manila",status="offline"} 1`,
		`berth_pool_status{kind="server",pool="manila",status="active"} 0`,
		`berth_queue_depth{kind="server"} 2`,
		`berth_scrape_error 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
