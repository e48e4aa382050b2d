package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/app/apptest"
)

// While a slow team is still taking a released user out, the public status
// page says "being removed" (正在移出) on that team, in both languages, not
// "ended"; a redeem in that window shows the user waits for that removal
// (issue 15 §4).
func TestStatusPageBeingRemoved(t *testing.T) {
	c := startConsole(t)
	c.h.Do("POST", "/api/v1/pools", map[string]any{"name": "team-1", "kind": "team", "capacity": 5,
		"provider": map[string]any{"type": "sim", "latency_ms": 2000}}).MustStatus(t, 201)
	var gen struct{ Codes []string }
	c.h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 1, "max_uses": 2, "valid_for": "720h", "rebind_limit": 3}).MustStatus(t, 201).JSON(t, &gen)
	email, code := "slow@example.com", gen.Codes[0]
	cl := c.client()
	if r := c.do(cl, "POST", "/redeem", url.Values{"email": {email}, "code": {code}}, nil); r.Status != 200 {
		t.Fatalf("redeem: %d %s", r.Status, r.Body)
	}
	var seats struct{ Items []struct{ ID int64 } }
	apptest.Eventually(t, 10*time.Second, "the seat active", func() bool {
		c.h.Do("GET", "/api/v1/seats?email="+email+"&state=active", nil).JSON(t, &seats)
		return len(seats.Items) == 1
	})
	c.h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/release", seats.Items[0].ID), nil).MustStatus(t, 202)

	page := func(path, lang string) string {
		t.Helper()
		r := c.do(cl, "POST", path, url.Values{"email": {email}, "code": {code}}, map[string]string{"Accept-Language": lang})
		if r.Status != 200 {
			t.Fatalf("%s (%s): %d %s", path, lang, r.Status, r.Body)
		}
		return r.Body
	}
	if body := page("/status", "en"); !strings.Contains(body, `id="seat-state">being removed<`) || !strings.Contains(body, `<dd id="seat-team">team-1</dd>`) {
		t.Fatalf("the status page during the removal does not say being removed on team-1:\n%s", body)
	}
	if body := page("/status", "zh-CN"); !strings.Contains(body, `id="seat-state">正在移出<`) {
		t.Fatalf("the status page in Chinese during the removal does not say 正在移出:\n%s", body)
	}
	if body := page("/redeem", "en"); !strings.Contains(body, "waiting for the removal from team-1 to finish") ||
		!strings.Contains(body, "team-1 is still removing you") || strings.Contains(body, "full") {
		t.Fatalf("a redeem during the removal does not say it waits for it (or says full):\n%s", body)
	}
	if body := page("/status", "zh-CN"); !strings.Contains(body, "正在等待从 team-1 移出完成") && !strings.Contains(body, `id="seat-state">正在开通<`) {
		t.Fatalf("the queued user's page in Chinese does not say it waits for the removal:\n%s", body)
	}
}

// The same window in a browser: the status page says "being removed" on
// the team, and a redeem meanwhile says the user waits for that removal.
func TestBrowserBeingRemoved(t *testing.T) {
	ctx := incognito(t, browser(t))
	c := startConsole(t)
	c.h.Do("POST", "/api/v1/pools", map[string]any{"name": "team-1", "kind": "team", "capacity": 5,
		"provider": map[string]any{"type": "sim", "latency_ms": 3000}}).MustStatus(t, 201)
	var gen struct{ Codes []string }
	c.h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 1, "max_uses": 2, "valid_for": "720h", "rebind_limit": 3}).MustStatus(t, 201).JSON(t, &gen)
	email, code := "li.wei@example.com", gen.Codes[0]
	c.h.DoAuth("POST", "/api/v1/public/redeem", map[string]string{"email": email, "code": code}, "").MustStatus(t, 200)
	var seats struct{ Items []struct{ ID int64 } }
	apptest.Eventually(t, 10*time.Second, "the seat active", func() bool {
		c.h.Do("GET", "/api/v1/seats?email="+email+"&state=active", nil).JSON(t, &seats)
		return len(seats.Items) == 1
	})
	c.h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/release", seats.Items[0].ID), nil).MustStatus(t, 202)
	form := func(path, id string) {
		run(t, ctx, path,
			chromedp.Navigate(c.URL+path),
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#code"), code),
			chromedp.Click(chromedp.CSS("#"+id+" button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("#seat-status")),
		)
	}
	form("/status", "status-form")
	if s := text(t, ctx, "#seat-state"); s != "being removed" {
		t.Fatalf("state %q during the removal, want being removed", s)
	}
	screenshot(t, ctx, "status-being-removed.png")
	form("/redeem", "redeem-form")
	if s := text(t, ctx, "#seat-why"); !strings.Contains(s, "waiting for the removal from team-1 to finish") {
		t.Fatalf("why %q, want the removal from team-1", s)
	}
	if s := text(t, ctx, ".flash.ok"); !strings.HasPrefix(s, "Your code is redeemed. team-1 is still removing you") {
		t.Fatalf("redeem note %q, want it to say team-1 is still removing the user", s)
	}
	screenshot(t, ctx, "redeem-behind-removal.png")
}
