package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The alerting rules and the Grafana dashboard live in deploy/.
var (
	alertsFile     = filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml")
	alertTestsFile = filepath.Join("..", "..", "deploy", "prometheus", "alerts_test.yml")
	dashboardFile  = filepath.Join("..", "..", "deploy", "grafana", "berth.json")
)

// exported lists the names of every metric berth exposes.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 1000)
	collector{}.Describe(ch)
	(&stateCollector{}).Describe(ch)
	for _, c := range []prometheus.Collector{rebindRequests, redeemRequests, providerRequests, providerSeconds, placementSeconds} {
		c.Describe(ch)
	}
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range ch {
		m := fq.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		names[m[1]] = true
		if strings.HasSuffix(m[1], "_seconds") { // histograms
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[m[1]+s] = true
			}
		}
	}
	return names
}

var metricName = regexp.MustCompile(`\b(berth_[a-z0-9_]+|orphan_users_count|zombie_rebind_tasks|rebind_requests_total)\b`)

// Every metric the rules and the dashboard use is one berth exposes: a
// renamed metric must not silently blind an alert.
func TestRulesAndDashboardUseExportedMetrics(t *testing.T) {
	names := exported(t)
	for _, f := range []string{alertsFile, alertTestsFile, dashboardFile} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]bool{}
		for _, m := range metricName.FindAllString(string(data), -1) {
			if !strings.HasSuffix(m, "_") { // berth_pool_* in comments
				used[m] = true
			}
		}
		if len(used) < 5 {
			t.Errorf("%s uses only %v", f, used)
		}
		for m := range used {
			if !names[m] {
				t.Errorf("%s uses %s, which berth does not expose", f, m)
			}
		}
	}
	for _, want := range []string{"orphan_users_count", "zombie_rebind_tasks", "rebind_requests_total"} {
		if !names[want] {
			t.Errorf("the origin document's metric %s is not exposed", want)
		}
	}
}

func TestDashboardJSON(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string
		UID    string
		Panels []struct {
			ID      int
			Type    string
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	ids := map[int]bool{}
	titles := []string{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		titles = append(titles, p.Title)
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
	all := strings.ToLower(strings.Join(titles, "|"))
	for _, want := range []string{"capacity", "queue", "moves", "orphan", "provider"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %s panel in %v", want, titles)
		}
	}
}

// promtool checks the rules' syntax and runs their unit tests
// (deploy/prometheus/alerts_test.yml). It skips when promtool is not
// installed (Debian package prometheus; .ci/run installs it).
func TestAlertRulesWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus); skipping the alert rule check")
	}
	for _, args := range [][]string{{"check", "rules", alertsFile}, {"test", "rules", alertTestsFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
