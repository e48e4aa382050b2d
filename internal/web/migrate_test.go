package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/sim"
	"github.com/berthhq/berth/internal/store"
)

// migrationJSON mirrors the migration progress route's answer.
type migrationJSON struct {
	Moved, Waiting, Failed, Remaining int
	InProgress                        int `json:"in_progress"`
	Done                              bool
	Pools                             []struct {
		Pool                              string
		Moved, Waiting, Failed, Remaining int
		InProgress                        int `json:"in_progress"`
		Done                              bool
	}
}

// migrationSetup makes two servers to migrate off, holding three and one
// accounts, and a target with room for two whose first delivery is
// refused (so one move fails); it returns the sources' ids.
func migrationSetup(t *testing.T, c *console) (int64, int64) {
	t.Helper()
	ctx := t.Context()
	st := c.h.App.Store
	a := c.h.Pool("srv-a", "server", 3, 0)
	c.h.Import("script-A", apptest.Files("acct", 0, 3))
	b := c.h.Pool("srv-b", "server", 1, 0)
	c.h.Import("script-A", apptest.Files("acct", 3, 1))
	apptest.Eventually(t, 15*time.Second, "four active seats", func() bool {
		pa, err1 := st.PoolGet(ctx, a)
		pb, err2 := st.PoolGet(ctx, b)
		return err1 == nil && err2 == nil && pa.Used == 3 && pb.Used == 1
	})
	c.h.Pool("dst-1", "server", 2, 0)
	c.h.Sims.New("dst-1", sim.Config{}).SetFailNext(1, provider.MemberPermanent)
	return a, b
}

// A migration from the console: the pools page's "Migrate selected" shows
// the dry run (two would move to dst-1, two would wait), which changes
// nothing; confirming starts it (303 to its progress, so a reload does not
// repeat it); the progress counts per pool and in total one move failed
// (the target refused it), two moved and one waiting, until a server with
// room lets the last one move and the page stops refreshing. A viewer may
// watch but neither plan nor start.
func TestMigration(t *testing.T) {
	c := startConsole(t)
	a, b := migrationSetup(t, c)
	op := c.signIn("oper", userPassword)
	view := c.signIn("view", userPassword)
	ids := url.Values{"ids": {strconv.FormatInt(a, 10), strconv.FormatInt(b, 10)}}

	r := c.do(op, "GET", "/admin/servers", nil, nil)
	if !strings.Contains(r.Body, `id="migrate-open"`) || !strings.Contains(r.Body, "Migrate selected…") {
		t.Fatalf("pools page lacks the migrate button:\n%s", r.Body)
	}
	r = c.do(op, "GET", "/admin/servers/migrate?"+ids.Encode(), nil, nil)
	for _, want := range []string{"4 members: 2 would move now, 2 would wait for room.", "<td>dst-1</td>", "would wait", "srv-a", "srv-b",
		`action="/admin/servers/migrate"`, `name="ids" value="` + strconv.FormatInt(a, 10) + `"`} {
		if r.Status != http.StatusOK || !strings.Contains(r.Body, want) {
			t.Fatalf("plan %d lacks %q:\n%s", r.Status, want, r.Body)
		}
	}
	// The dry run changed nothing.
	if p, _ := c.h.App.Store.PoolGet(t.Context(), a); p.Status != "active" || p.Used != 3 {
		t.Fatalf("after the dry run srv-a is %s with %d seats", p.Status, p.Used)
	}
	zh := c.do(op, "GET", "/admin/servers/migrate?"+ids.Encode(), nil, map[string]string{"Accept-Language": "zh-CN"})
	if !strings.Contains(zh.Body, "共 4 个成员：2 个会立即迁移，2 个需等待空位。") || !strings.Contains(zh.Body, "开始迁移") {
		t.Errorf("Chinese plan:\n%s", zh.Body)
	}
	// Nothing selected: the pools page again, with the message.
	if r := c.do(op, "GET", "/admin/servers/migrate", nil, nil); r.Status != http.StatusOK || !strings.Contains(r.Body, "Select at least one row first.") {
		t.Fatalf("no selection: %d\n%s", r.Status, r.Body)
	}
	// A team's id on the servers' path is not found.
	team := c.h.Pool("team-1", "team", 1, 0)
	if r := c.do(op, "GET", fmt.Sprintf("/admin/servers/migrate?ids=%d", team), nil, nil); r.Status != http.StatusNotFound {
		t.Fatalf("a team on the servers' path: %d", r.Status)
	}
	// Viewers may not plan or start.
	if r := c.do(view, "GET", "/admin/servers/migrate?"+ids.Encode(), nil, nil); r.Status != http.StatusForbidden {
		t.Fatalf("viewer plan: %d, want 403", r.Status)
	}
	if r := c.do(view, "POST", "/admin/servers/migrate", ids, nil); r.Status != http.StatusForbidden {
		t.Fatalf("viewer start: %d, want 403", r.Status)
	}

	r = c.do(op, "POST", "/admin/servers/migrate", ids, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/servers/migration?") {
		t.Fatalf("start: %d to %q\n%s", r.Status, r.Location, r.Body)
	}
	page := r.Location
	r = c.do(op, "GET", page, nil, nil)
	// (How many start moving depends on how soon the refused delivery
	// gives its room back.)
	for _, want := range []string{"Migration of 2 pools started: ", `data-drain-progress="/admin/servers/migration/progress?`,
		`http-equiv="refresh"`, `data-drain-pool="srv-a"`, `data-drain-pool="srv-b"`} {
		if r.Status != http.StatusOK || !strings.Contains(r.Body, want) {
			t.Fatalf("progress page %d lacks %q:\n%s", r.Status, want, r.Body)
		}
	}
	// Reloading shows the progress again, without the one-time message,
	// and starts nothing.
	r = c.do(op, "GET", page, nil, nil)
	if r.Status != http.StatusOK || strings.Contains(r.Body, "Migration of 2 pools started") {
		t.Fatalf("reload: %d\n%s", r.Status, r.Body)
	}
	q, _ := url.Parse(page)
	qq := q.Query()
	qq.Del("done")
	progress := func() migrationJSON {
		t.Helper()
		r := c.do(view, "GET", "/admin/servers/migration/progress?"+qq.Encode(), nil, nil)
		var d migrationJSON
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("progress: %d %s", r.Status, r.Body)
		}
		if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// The refused move fails (its member stays), its room goes to one of
	// the two waiting, the other waits.
	var d migrationJSON
	apptest.Eventually(t, 20*time.Second, "two moved, one failed", func() bool {
		d = progress()
		return d.Moved == 2 && d.Failed == 1 && d.InProgress == 0 && d.Remaining == 2
	})
	if d.Waiting != 1 || d.Done || len(d.Pools) != 2 || d.Pools[0].Pool != "srv-a" || d.Pools[1].Pool != "srv-b" {
		t.Fatalf("progress %+v", d)
	}
	if sum := d.Pools[0].Moved + d.Pools[1].Moved; sum != 2 || d.Pools[0].Remaining+d.Pools[1].Remaining != 2 ||
		d.Pools[0].Failed+d.Pools[1].Failed != 1 || d.Pools[0].Waiting+d.Pools[1].Waiting != 1 {
		t.Fatalf("per pool %+v do not add up to the totals", d.Pools)
	}
	r = c.do(view, "GET", "/admin/servers/migration?"+qq.Encode(), nil, nil)
	if !strings.Contains(r.Body, `<td data-drain-field="failed" class="bad">1</td>`) {
		t.Fatalf("progress page lacks the failed count:\n%s", r.Body)
	}

	// Room for the last one: done, and the page stops refreshing.
	c.h.Pool("dst-2", "server", 1, 0)
	apptest.Eventually(t, 20*time.Second, "the migration to finish", func() bool { d = progress(); return d.Done })
	if d.Moved != 3 || d.Failed != 1 || d.Waiting != 0 || d.Remaining != 1 {
		t.Fatalf("finished %+v", d)
	}
	r = c.do(view, "GET", "/admin/servers/migration?"+qq.Encode(), nil, nil)
	if !strings.Contains(r.Body, "Nothing is left to move.") || strings.Contains(r.Body, `http-equiv="refresh"`) || strings.Contains(r.Body, "data-drain-progress") {
		t.Fatalf("finished migration page still refreshes:\n%s", r.Body)
	}
	if r := c.do(view, "GET", "/admin/servers/migration?"+qq.Encode(), nil, map[string]string{"Accept-Language": "zh-CN"}); !strings.Contains(r.Body, "合计") {
		t.Errorf("Chinese progress page:\n%s", r.Body)
	}
	// One audit row for the start (the plan is a GET: none), with its
	// pools and their status before and after.
	entries, err := c.h.App.Auth.AuditList(t.Context(), store.AuditFilter{Actor: "oper", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, e := range entries {
		if strings.Contains(e.Action, "migrat") {
			rows = append(rows, e.Action+" "+e.Target+" "+string(e.After))
		}
	}
	if len(rows) != 1 || !strings.HasPrefix(rows[0], "web: POST /admin/servers/migrate migration pools=") || !strings.Contains(rows[0], "draining") {
		t.Errorf("audit rows %q", rows)
	}
	// A progress URL without its start is not a migration.
	if r := c.do(view, "GET", "/admin/servers/migration/progress?ids=1", nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("progress without since: %d", r.Status)
	}
	// The servers' migration asked on the teams' route is not found.
	if r := c.do(view, "GET", "/admin/teams/migration/progress?"+qq.Encode(), nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("servers' progress on the teams' route: %d", r.Status)
	}
}
