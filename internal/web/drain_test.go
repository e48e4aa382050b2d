package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
)

// drainJSON mirrors the drain progress route's answer.
type drainJSON struct {
	Pool                              string
	Moved, Waiting, Failed, Remaining int
	InProgress                        int `json:"in_progress"`
	Done                              bool
}

// A drain on a server with three accounts, room for two elsewhere: the
// action lands on the progress page, whose JSON counts two moved and one
// waiting for room; once a server with room comes, the last one moves and
// the progress says done with no seat left on the drained pool.
func TestDrainProgress(t *testing.T) {
	c := startConsole(t)
	ctx := t.Context()
	st := c.h.App.Store
	srv := c.h.Pool("srv-1", "server", 3, 0)
	items := c.h.Import("script-A", apptest.Files("acct", 0, 3))
	for _, it := range items {
		if it.Pool != "srv-1" {
			t.Fatalf("import: %+v", it)
		}
	}
	apptest.Eventually(t, 15*time.Second, "three seats on srv-1", func() bool {
		p, err := st.PoolGet(ctx, srv)
		return err == nil && p.Used == 3
	})
	c.h.Pool("srv-2", "server", 2, 0)
	op := c.signIn("oper", userPassword)
	view := c.signIn("view", userPassword)

	r := c.do(op, "POST", fmt.Sprintf("/admin/servers/%d/drain", srv), url.Values{}, nil)
	page := fmt.Sprintf("/admin/servers/%d/drain", srv)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, page+"?") {
		t.Fatalf("drain: %d to %q, want 303 to %s", r.Status, r.Location, page)
	}
	r = c.do(op, "GET", r.Location, nil, nil)
	for _, want := range []string{"Draining srv-1: 2 moving, 1 queued", "Waiting for room", `data-drain-progress="` + page + `/progress"`, `http-equiv="refresh"`} {
		if r.Status != http.StatusOK || !strings.Contains(r.Body, want) {
			t.Fatalf("progress page %d lacks %q:\n%s", r.Status, want, r.Body)
		}
	}
	progress := func() drainJSON {
		t.Helper()
		r := c.do(view, "GET", page+"/progress", nil, nil)
		var d drainJSON
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("progress: %d %s", r.Status, r.Body)
		}
		if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	var d drainJSON
	apptest.Eventually(t, 20*time.Second, "two moved", func() bool { d = progress(); return d.Moved == 2 && d.InProgress == 0 && d.Remaining == 1 })
	if want := (drainJSON{Pool: "srv-1", Moved: 2, Waiting: 1, Remaining: 1}); d != want {
		t.Fatalf("progress %+v, want %+v", d, want)
	}

	// Room for the last one: the drain finishes.
	c.h.Pool("srv-3", "server", 1, 0)
	apptest.Eventually(t, 20*time.Second, "the drain to finish", func() bool { d = progress(); return d.Done && d.Remaining == 0 })
	if want := (drainJSON{Pool: "srv-1", Moved: 3, Done: true}); d != want {
		t.Fatalf("progress %+v, want %+v", d, want)
	}
	r = c.do(view, "GET", page, nil, nil)
	if !strings.Contains(r.Body, "Nothing is left to move.") || strings.Contains(r.Body, `http-equiv="refresh"`) || strings.Contains(r.Body, "data-drain-progress") {
		t.Fatalf("finished drain page still refreshes:\n%s", r.Body)
	}
	// Chinese; a team's id on the servers' path is not found.
	r = c.do(view, "GET", page, nil, map[string]string{"Accept-Language": "zh-CN"})
	if !strings.Contains(r.Body, "已迁走") {
		t.Errorf("Chinese progress page:\n%s", r.Body)
	}
	team := c.h.Pool("team-1", "team", 1, 0)
	if r := c.do(view, "GET", fmt.Sprintf("/admin/servers/%d/drain/progress", team), nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("a team on the servers' path: %d", r.Status)
	}
}
