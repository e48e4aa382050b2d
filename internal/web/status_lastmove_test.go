package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/app/apptest"
)

// After a paid move the public status page shows the last move (the new
// team, why, that it used a move) beside the moves used and left, in
// English and in Chinese (issue 15 §1; the same facts as the move mail).
func TestBrowserStatusLastMove(t *testing.T) {
	ctx := incognito(t, browser(t))
	c := startConsole(t)
	c.h.Pool("team-a", "team", 5, 1)
	c.h.Pool("team-b", "team", 5, 2)
	var gen struct{ Codes []string }
	c.h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 1, "max_uses": 1, "valid_for": "720h", "rebind_limit": 3}).MustStatus(t, 201).JSON(t, &gen)
	email, code := "li.wei@example.com", gen.Codes[0]
	c.h.DoAuth("POST", "/api/v1/public/redeem", map[string]string{"email": email, "code": code}, "").MustStatus(t, 200)
	active := func(pool string) {
		apptest.Eventually(t, 10*time.Second, "active on "+pool, func() bool {
			st, err := c.h.App.Alloc.Status(context.Background(), email, code)
			return err == nil && st.State == "active" && st.Pool == pool && !st.Moving
		})
	}
	active("team-a")
	c.h.DoAuth("POST", "/api/v1/public/rebind", map[string]string{"email": email, "code": code}, "").MustStatus(t, 200)
	active("team-b")
	show := func(what string) {
		run(t, ctx, what,
			chromedp.Navigate(c.URL+"/status"),
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#code"), code),
			chromedp.Click(chromedp.CSS("#status-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("#seat-last-move")),
		)
	}
	show("status")
	if s := text(t, ctx, "#seat-last-move"); !strings.HasPrefix(s, "to team-b from team-a, ") || !strings.HasSuffix(s, ": you asked to move; used one of your moves.") {
		t.Fatalf("last move %q", s)
	}
	if s := text(t, ctx, "#seat-moves"); s != "1 of 3 used, 2 left" {
		t.Fatalf("moves %q", s)
	}
	screenshot(t, ctx, "status-last-move-en.png")
	run(t, ctx, "to Chinese", chromedp.Navigate(c.URL+"/lang?to=zh-CN&next=%2Fstatus"))
	show("status zh")
	if s := text(t, ctx, "#seat-last-move"); !strings.Contains(s, "从 team-a 换到 team-b：你申请了换车；占用一次换车次数。") {
		t.Fatalf("last move (zh) %q", s)
	}
	screenshot(t, ctx, "status-last-move-zh.png")
}
