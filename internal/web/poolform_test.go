package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// poolByName reads a pool and its stored provider settings.
func (c *console) poolByName(name string) (model.Pool, string, map[string]any) {
	c.t.Helper()
	st := c.h.App.Alloc.Store()
	p, err := st.PoolGetByName(context.Background(), name)
	if err != nil {
		c.t.Fatalf("pool %s: %v", name, err)
	}
	typ, cfg, err := st.PoolProvider(context.Background(), p.ID)
	if err != nil {
		c.t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(cfg, &m); err != nil {
		c.t.Fatal(err)
	}
	return p, typ, m
}

// TestPoolForm: an admin creates a sim server pool and a webhook team pool
// through the console's form and edits them; the webhook's secret never
// shows on a page and an empty secret input keeps it; an operator may not
// create or edit pools.
func TestPoolForm(t *testing.T) {
	c := startConsole(t)
	admin := c.signIn("admin", adminPassword)
	oper := c.signIn("oper", userPassword)

	form := c.do(admin, "GET", "/admin/servers/new", nil, nil)
	if form.Status != 200 || !strings.Contains(form.Body, `name="p.webhook.secret" type="password"`) ||
		!strings.Contains(form.Body, `name="p.sim.fail_rate" type="number" step="any"`) {
		t.Fatalf("new-pool form: %d\n%s", form.Status, form.Body)
	}

	page := c.post(admin, "/admin/servers/new", url.Values{"name": {"srv-a"}, "capacity": {"4"}, "priority": {"2"},
		"labels": {"region=eu\n zone = a "}, "provider_type": {"sim"}, "p.sim.fail_rate": {"0.25"}, "p.sim.down": {"on"},
		"p.webhook.url": {"https://ignored.example/hook"}})
	if !strings.Contains(page.Body, "srv-a") {
		t.Fatalf("servers page after create lacks srv-a:\n%s", page.Body)
	}
	p, typ, cfg := c.poolByName("srv-a")
	if p.Kind != model.KindServer || p.Capacity != 4 || p.Priority != 2 || p.Labels["region"] != "eu" || p.Labels["zone"] != "a" ||
		typ != "sim" || cfg["fail_rate"] != 0.25 || cfg["down"] != true || cfg["url"] != nil {
		t.Fatalf("srv-a: %+v %s %v", p, typ, cfg)
	}

	const secret = "s3cret-webhook-signing-key-0123456789"
	c.post(admin, "/admin/teams/new", url.Values{"name": {"team-w"}, "capacity": {"7"}, "provider_type": {"webhook"},
		"p.webhook.url": {"https://example.com/hook"}, "p.webhook.secret": {secret}})
	tp, typ, cfg := c.poolByName("team-w")
	if tp.Kind != model.KindTeam || tp.Capacity != 7 || typ != "webhook" || cfg["url"] != "https://example.com/hook" || cfg["secret"] != secret {
		t.Fatalf("team-w: %+v %s %v", tp, typ, cfg)
	}
	edit := "/admin/teams/" + strconv.FormatInt(tp.ID, 10) + "/edit"
	for _, path := range []string{"/admin/teams", edit, "/admin/history", "/admin/audit"} {
		r := c.do(admin, "GET", path, nil, nil)
		if r.Status != 200 || strings.Contains(r.Body, secret) {
			t.Fatalf("GET %s: %d, or the secret shows", path, r.Status)
		}
	}
	if r := c.do(admin, "GET", edit, nil, nil); !strings.Contains(r.Body, "(set)") || !strings.Contains(r.Body, `value="https://example.com/hook"`) {
		t.Fatalf("edit form does not show the stored settings:\n%s", r.Body)
	}

	// Edit capacity; the empty secret input keeps the secret.
	c.post(admin, edit, url.Values{"capacity": {"9"}, "priority": {"1"}, "labels": {""}, "provider_type": {"webhook"},
		"p.webhook.url": {"https://example.com/hook2"}, "p.webhook.secret": {""}})
	tp, _, cfg = c.poolByName("team-w")
	if tp.Capacity != 9 || tp.Priority != 1 || cfg["url"] != "https://example.com/hook2" || cfg["secret"] != secret {
		t.Fatalf("team-w after edit: %+v %v", tp, cfg)
	}

	// A refusal shows on the form (no pool made).
	r := c.do(admin, "POST", "/admin/servers/new", url.Values{"name": {"bad name"}, "capacity": {"1"}, "provider_type": {"sim"}}, nil)
	if r.Status != 200 || !strings.Contains(r.Body, `value="bad name"`) || !strings.Contains(r.Body, "flash") {
		t.Fatalf("invalid name: %d\n%s", r.Status, r.Body)
	}

	// An operator may not.
	for _, tc := range []struct{ method, path string }{{"GET", "/admin/servers/new"}, {"POST", "/admin/servers/new"},
		{"GET", edit}, {"POST", edit}} {
		var f url.Values
		if tc.method == "POST" {
			f = url.Values{"name": {"srv-o"}, "capacity": {"1"}, "provider_type": {"sim"}}
		}
		if r := c.do(oper, tc.method, tc.path, f, nil); r.Status != http.StatusForbidden {
			t.Fatalf("operator %s %s: %d, want 403", tc.method, tc.path, r.Status)
		}
	}
	if _, err := c.h.App.Alloc.Store().PoolGetByName(context.Background(), "srv-o"); err == nil {
		t.Fatal("the operator's pool exists")
	}
	if r := c.do(oper, "GET", "/admin/servers", nil, nil); strings.Contains(r.Body, "/admin/servers/new") {
		t.Fatal("the operator sees the new-pool link")
	}
}

// checkAnswer posts "test connection" for the pool id of kind as cl and
// reloads the answer page until the check ran; it returns that page.
func (c *console) checkAnswer(cl *http.Client, kind string, id int64) string {
	c.t.Helper()
	path := "/admin/" + kind + "s/" + strconv.FormatInt(id, 10) + "/check"
	r := c.do(cl, "POST", path, url.Values{}, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, path+"/") {
		c.t.Fatalf("POST %s: %d to %q\n%s", path, r.Status, r.Location, r.Body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		page := c.do(cl, "GET", r.Location, nil, nil)
		if page.Status != 200 {
			c.t.Fatalf("GET %s: %d", r.Location, page.Status)
		}
		if !strings.Contains(page.Body, "Checking…") {
			return page.Body
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("check of pool %d still pending", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPoolCheck: "test connection" runs the provider's Check as a job; the
// answer page shows OK for a sim pool that is up and the provider's error
// for one that is down. A viewer may not start a check.
func TestPoolCheck(t *testing.T) {
	c := startConsole(t)
	oper := c.signIn("oper", userPassword)
	up := c.h.Pool("srv-up", "server", 2, 0)
	// A sim pool that is down, made through the form.
	c.post(c.signIn("admin", adminPassword), "/admin/teams/new", url.Values{"name": {"team-down"}, "capacity": {"2"},
		"provider_type": {"sim"}, "p.sim.down": {"on"}})
	down, _, _ := c.poolByName("team-down")

	if page := c.checkAnswer(oper, "server", up); !strings.Contains(page, "OK: the provider answered.") {
		t.Fatalf("check of an up pool:\n%s", page)
	}
	page := c.checkAnswer(oper, "team", down.ID)
	if !strings.Contains(page, "Failed:") || !strings.Contains(page, "sim team-down: check") {
		t.Fatalf("check of a down pool:\n%s", page)
	}
	// The answer belongs to its pool: another pool's path does not show it.
	if r := c.do(oper, "GET", "/admin/servers/"+strconv.FormatInt(up, 10)+"/check/999999", nil, nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown check: %d", r.Status)
	}
	view := c.signIn("view", userPassword)
	if r := c.do(view, "POST", "/admin/servers/"+strconv.FormatInt(up, 10)+"/check", url.Values{}, nil); r.Status != http.StatusForbidden {
		t.Fatalf("viewer check: %d, want 403", r.Status)
	}
}
