package web_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/model"
)

var reasonCell = regexp.MustCompile(`<td class="reason">([^<]*)</td>`)

// A queued member's reason is told in the reader's language on the queue
// and accounts pages, and a queued redeemer's on the public status page:
// no English cause word on the Chinese pages.
func TestWhyInReadersLanguage(t *testing.T) {
	c := startConsole(t)
	c.h.Pool("srv-1", "server", 1, 0)
	paused := c.h.Pool("srv-2", "server", 5, 0)
	c.h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{paused}, "status": "paused"}).MustStatus(t, 200)
	items := c.h.Import("script-A", apptest.Files("acct", 0, 2))
	if items[1].Status != "queued" {
		t.Fatalf("second account: %+v", items[1])
	}
	op := c.signIn("oper", userPassword)
	page := func(lng, path string) string {
		t.Helper()
		return c.pageIn(op, lng, path)
	}
	cells := func(body string) string { return cellsOf(reasonCell, body) }
	english := []string{"paused", "full", "pools", "servers", "used"}
	for _, path := range []string{"/admin/queue", "/admin/accounts"} {
		zh := cells(page("zh-CN", path))
		if !strings.Contains(zh, "共 2 台服务器：1 台已暂停，1 台已满") {
			t.Errorf("%s in Chinese: reasons %q", path, zh)
		}
		for _, w := range english {
			if strings.Contains(zh, w) {
				t.Errorf("%s in Chinese shows %q: %q", path, w, zh)
			}
		}
		if en := cells(page("en", path)); !strings.Contains(en, "2 servers: 1 paused, 1 full") {
			t.Errorf("%s in English: reasons %q", path, en)
		}
	}
	// History: the placement says where and by which rule.
	if zh := cells(page("zh-CN", "/admin/history?member="+items[0].Account)); !strings.Contains(zh, "srv-1（已用 0/1；空位最多，新脚本 script-A） — 共 2 台服务器：1 台已暂停") {
		t.Errorf("history in Chinese: %q", zh)
	}

	// A seat move that has to wait says why in the page's language.
	ctx := t.Context()
	st := c.h.App.Store
	m, err := st.MemberGetByExternal(ctx, model.KindServer, items[0].Account)
	if err != nil {
		t.Fatal(err)
	}
	seat, err := st.SeatLive(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	page("zh-CN", "/admin/seats")
	r := c.post(op, fmt.Sprintf("/admin/seats/%d/move", seat.ID), url.Values{})
	flash := regexp.MustCompile(`将在有空位时迁移（排队第 \d+ 位）：([^<]*)<`).FindStringSubmatch(r.Body)
	if flash == nil || !strings.HasPrefix(flash[1], "共 2 台服务器：1 台已暂停") || strings.Contains(flash[1], "paused") {
		t.Errorf("seat move in Chinese: %q", flash)
	}

	// A redeemer waiting for a team is told why on the status page.
	c.h.Pool("team-1", "team", 1, 0)
	var gen struct{ Codes []string }
	c.h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 2}).MustStatus(t, 201).JSON(t, &gen)
	for i, code := range gen.Codes {
		var st struct{ State string }
		c.h.Do("POST", "/api/v1/public/redeem", map[string]any{"email": []string{"a@example.com", "b@example.com"}[i], "code": code}).
			MustStatus(t, 200).JSON(t, &st)
		if want := []string{"pending", "queued"}[i]; st.State != want {
			t.Fatalf("redeem %d: %s, want %s", i, st.State, want)
		}
	}
	why := regexp.MustCompile(`<dd id="seat-why">([^<]*)</dd>`)
	for lng, want := range map[string]string{"zh-CN,zh;q=0.9": "共 1 个团队：1 个已满", "en": "1 team: 1 full"} {
		r := c.do(c.client(), "POST", "/status", url.Values{"email": {"b@example.com"}, "code": {gen.Codes[1]}},
			map[string]string{"Accept-Language": lng})
		if m := why.FindStringSubmatch(r.Body); m == nil || m[1] != want {
			t.Errorf("status page (%s): %d, why %q, want %q", lng, r.Status, m, want)
		}
	}
}
