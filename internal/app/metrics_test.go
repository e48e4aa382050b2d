package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
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

// A seat whose provider keeps failing is retried for hours, keeping its
// room; berth_seats_provisioning_oldest_age_seconds says how long the oldest
// has waited, so the alert SeatsStuckProvisioning can page.
func TestMetricPendingSeatAge(t *testing.T) {
	h := apptest.Start(t, store.SQLite, func(c *app.Config) { c.Jobs.DeliveryRetryFor = time.Hour })
	h.Do("POST", "/api/v1/pools", map[string]any{"name": "flaky", "kind": "server", "capacity": 5,
		"provider": map[string]any{"type": "sim", "fail_rate": 1}}).MustStatus(t, 201)
	age := func() float64 {
		body := string(h.DoAuth("GET", "/metrics", nil, "").MustStatus(t, 200).Body)
		m := regexp.MustCompile(`(?m)^berth_seats_provisioning_oldest_age_seconds\{kind="server"\} (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no berth_seats_provisioning_oldest_age_seconds for servers in:\n%s", body)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	if a := age(); a != 0 {
		t.Fatalf("age with no seat being set up: %v", a)
	}
	h.Import("A", apptest.Files("acct", 1, 1))
	// The fleet read is reused for 10 s: wait it out.
	apptest.Eventually(t, 20*time.Second, "a pending seat's age", func() bool { return age() > 0 })
}

// Redeems and moves made on the console's public pages are counted as the
// API's are (they are counted in the service, whoever asks).
func TestConsoleRedeemsCounted(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	teams(h, 1, 5)
	code := genCodes(t, h, 1, nil)[0]
	count := func(series string) float64 {
		body := string(h.DoAuth("GET", "/metrics", nil, "").MustStatus(t, 200).Body)
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			return 0
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	const seated, rejected = `berth_redeem_requests_total{outcome="seated"}`, `rebind_requests_total{free="false",status="rejected"}`
	before, beforeRejected := count(seated), count(rejected)
	form := func(path string, vals url.Values) {
		t.Helper()
		resp, err := http.Post(h.App.URL+path, "application/x-www-form-urlencoded", strings.NewReader(vals.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	form("/redeem", url.Values{"email": {"user@example.com"}, "code": {code}})
	form("/status/move", url.Values{"email": {"nobody@example.com"}, "code": {code}})
	if got := count(seated) - before; got != 1 {
		t.Errorf("a console redeem added %v to %s, want 1", got, seated)
	}
	if got := count(rejected) - beforeRejected; got != 1 {
		t.Errorf("a console move with another's code added %v to %s, want 1", got, rejected)
	}
}

// The same refusal gets the same status from the JSON API and the console's
// public form: both classify the service's error in one place
// (alloc/errkind.go).
func TestRefusalsAnsweredAlikeByAPIAndConsole(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	teams(h, 1, 10)
	codes := genCodes(t, h, 3, nil)
	redeem(t, h, "owner@example.com", codes[0])
	h.Do("PATCH", "/api/v1/codes/"+codes[2], map[string]string{"status": "disabled"}).MustStatus(t, 200)
	cases := []struct{ email, code string }{
		{"other@example.com", codes[0]},          // bound to another e-mail: 403
		{"a@example.com", codes[2]},              // disabled: 403
		{"a@example.com", "ZZZZ-ZZZZ-ZZZZ-ZZZZ"}, // unknown: 403
		{"not-an-email", codes[1]},               // invalid: 422
	}
	for _, c := range cases {
		_, api := redeem(t, h, c.email, c.code)
		resp, err := http.Post(h.App.URL+"/redeem", "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"email": {c.email}, "code": {c.code}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if api.Status < 400 || resp.StatusCode != api.Status {
			t.Errorf("redeem %s with %s: API %d, console %d", c.email, c.code, api.Status, resp.StatusCode)
		}
	}
}
