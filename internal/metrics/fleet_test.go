package metrics

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// fleetRegistry registers the database collectors with cfg; the returned
// state collector's clock can be moved.
func fleetRegistry(st *store.Store, cfg Config) (*prometheus.Registry, *stateCollector) {
	sc := newStateCollectorConfig(st, slog.New(slog.DiscardHandler), cfg)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{s: sc}, sc)
	return reg, sc
}

func makePools(t *testing.T, st *store.Store, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		kind, labels := model.KindServer, map[string]string(nil)
		if i%2 == 0 {
			kind, labels = model.KindTeam, map[string]string{"group": "vip", "region": "eu"}
		}
		storetest.Pool(t, st, store.PoolCreateParams{Name: fmt.Sprintf("pool-%02d", i), Kind: kind, Capacity: i, Labels: labels})
	}
}

// Per-pool series are exported only while the fleet has at most PoolSeries
// pools; the aggregates by kind, status and group are always there and
// agree with the pools (the group read from the labels in SQL, on both
// engines).
func TestPoolSeriesCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		makePools(t, st, 1, 5) // servers 1, 3, 5 (no group); teams 2, 4 (group vip)
		for _, tc := range []struct {
			name    string
			cfg     Config
			perPool bool
		}{
			{"default cap (1000)", Config{}, true},
			{"cap at the fleet's size", Config{PoolSeries: 5}, true},
			{"fleet above the cap", Config{PoolSeries: 4}, false},
			{"per-pool series off", Config{PoolSeries: -1}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				reg, _ := fleetRegistry(st, tc.cfg)
				v, ok := value(t, reg, "berth_pool_capacity", map[string]string{"pool": "pool-04", "kind": "team", "group": "vip"})
				if ok != tc.perPool || (ok && v != 4) {
					t.Errorf("berth_pool_capacity of pool-04: %v (exported %v), want exported %v", v, ok, tc.perPool)
				}
				if _, ok := value(t, reg, "berth_pool_status", map[string]string{"pool": "pool-01", "kind": "server", "status": "active"}); ok != tc.perPool {
					t.Errorf("berth_pool_status exported %v, want %v", ok, tc.perPool)
				}
				want := 0.0
				if tc.perPool {
					want = 1
				}
				if v, ok := value(t, reg, "berth_pool_series_exported", nil); !ok || v != want {
					t.Errorf("berth_pool_series_exported = %v (%v), want %v", v, ok, want)
				}
				for _, c := range []struct {
					name, kind, group string
					want              float64
				}{
					{"berth_capacity", "team", "vip", 6}, {"berth_capacity", "server", "", 9},
					{"berth_pools", "team", "vip", 2}, {"berth_pools", "server", "", 3},
					{"berth_capacity_used", "team", "vip", 0}, {"berth_pools", "team", "", 0},
				} {
					if v, ok := value(t, reg, c.name, map[string]string{"kind": c.kind, "status": "active", "group": c.group}); !ok || v != c.want {
						t.Errorf("%s{kind=%s,group=%s} = %v (%v), want %v", c.name, c.kind, c.group, v, ok, c.want)
					}
				}
				if v, _ := value(t, reg, "berth_scrape_error", nil); v != 0 {
					t.Error("scrape error")
				}
			})
		}
	})
}

// The fleet is read at most once per TTL: scrapes within it see the same
// read; concurrent scrapes after it share one new read.
func TestFleetReadCached(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	makePools(t, st, 1, 2)
	reg, sc := fleetRegistry(st, Config{TTL: 10 * time.Second})
	now := time.Now()
	sc.now = func() time.Time { return now }
	pools := func() float64 {
		v, _ := value(t, reg, "berth_pools", map[string]string{"kind": "server", "status": "active", "group": ""})
		return v
	}
	if n := pools(); n != 1 {
		t.Fatalf("server pools %v, want 1", n)
	}
	makePools(t, st, 3, 3)
	now = now.Add(9 * time.Second)
	if n := pools(); n != 1 {
		t.Errorf("within the TTL: server pools %v, want the cached 1", n)
	}
	if v, _ := value(t, reg, "berth_state_age_seconds", nil); v != 9 {
		t.Errorf("state age %v, want 9", v)
	}
	if sc.fleet.Reads() != 1 {
		t.Errorf("%d reads of the fleet within the TTL (two collectors, two scrapes), want 1", sc.fleet.Reads())
	}
	now = now.Add(2 * time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if sc.fleet.Reads() != 2 {
		t.Errorf("%d reads after 8 concurrent scrapes past the TTL, want 2", sc.fleet.Reads())
	}
	if n := pools(); n != 2 {
		t.Errorf("after the TTL: server pools %v, want 2", n)
	}
}

// promtool accepts a scrape with the per-pool series (skipped when
// promtool is not installed; .ci/run installs it).
func TestScrapePromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus)")
	}
	st := storetest.Open(t, store.SQLite)
	makePools(t, st, 1, 5)
	rec := httptest.NewRecorder()
	NewHandler(st, slog.New(slog.DiscardHandler), Config{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if !strings.Contains(body, `berth_pool_capacity{group="vip",kind="team",pool="pool-02"} 2`) {
		t.Fatalf("no per-pool series in\n%s", body)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	// Exit status 3 is lint advice, not a format error; the one piece of
	// advice expected is about orphan_users_count, a name the origin
	// document fixes (rules_test.go).
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(line, "orphan_users_count ") {
			t.Errorf("promtool check metrics: %s", line)
		}
	}
}
