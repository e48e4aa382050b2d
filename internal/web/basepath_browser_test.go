package web_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
)

// TestBrowserSubPath: berth with BERTH_BASE_URL=https://ops.example.com/berth/
// at http://127.0.0.1:PORT/berth/ in Chromium: the sign-in redirect and
// next=, the stylesheet and the script, the navigation, a form posted and
// redirected (PRG), a table the script fetches from the API, sign-out, and a
// member's redeem on the public page, all under /berth.
func TestBrowserSubPath(t *testing.T) {
	ctx := browser(t)
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.AdminPassword = adminPassword
		c.Auth.Params = auth.Params{Time: 1, Memory: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}
		c.BaseURL = "https://ops.example.com/berth/"
	})
	h.Pool("team-a", "team", 5, 1)
	h.Pool("srv-1", "server", 8, 0)
	var gen struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 1, "max_uses": 1, "valid_for": "720h", "rebind_limit": 3}).MustStatus(t, 201).JSON(t, &gen)
	base := h.App.URL + "/berth"
	loc := func() string { return get(t, ctx, "location", chromedp.Location()) }

	run(t, ctx, "open the console", chromedp.Navigate(base+"/admin/servers"), chromedp.WaitVisible(chromedp.CSS("#username")))
	if l := loc(); l != base+"/login?next=%2Fadmin%2Fservers" {
		t.Fatalf("signed-out visit went to %s", l)
	}
	styled := `document.styleSheets.length > 0 && document.styleSheets[0].href.indexOf("/berth/assets/style.css") > 0 && document.styleSheets[0].cssRules.length > 10`
	if !get(t, ctx, "stylesheet", chromedp.Evaluate[bool](styled)) {
		t.Fatal("the stylesheet did not load from /berth/assets/")
	}
	shot(t, ctx, "berth-subpath-1-sign-in.png")
	run(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), adminPassword),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#pools-form")),
	)
	if l := loc(); l != base+"/admin/servers" {
		t.Fatalf("after sign-in: %s, want the page asked for", l)
	}
	run(t, ctx, "the codes page through the navigation",
		chromedp.Click(chromedp.CSS(`nav a[href="/berth/admin/codes"]`)),
		chromedp.WaitVisible(chromedp.CSS("#generate-form")),
	)
	if l := loc(); l != base+"/admin/codes" {
		t.Fatalf("the navigation went to %s", l)
	}
	run(t, ctx, "generate codes (post, redirect, get)",
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#generate-form").closest("details") && (document.querySelector("#generate-form").closest("details").open = true)`),
		chromedp.SetValue(chromedp.CSS("#g-count"), "3"),
		chromedp.SetValue(chromedp.CSS("#g-batch"), "subpath"),
		chromedp.Click(chromedp.CSS("#generate-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	if l := loc(); !strings.HasPrefix(l, base+"/admin/codes?") {
		t.Fatalf("after the post: %s", l)
	}
	if s := text(t, ctx, ".flash.ok"); !strings.Contains(s, "3") {
		t.Fatalf("flash %q", s)
	}
	shot(t, ctx, "berth-subpath-2-codes-generated.png")
	// The users table is fetched by the script from data-src.
	run(t, ctx, "users", chromedp.Click(chromedp.CSS(`nav a[href="/berth/admin/users"]`)), chromedp.WaitVisible(chromedp.CSS("#api-table")))
	until(t, ctx, "the script's table of users", `document.querySelector("#api-table table") !== null && document.querySelector("#api-table").textContent.indexOf("admin") >= 0`)
	shot(t, ctx, "berth-subpath-3-users.png")
	run(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`form[action="/berth/logout"] button`)), chromedp.WaitVisible(chromedp.CSS("#username")))
	if l := loc(); l != base+"/login" {
		t.Fatalf("after sign-out: %s", l)
	}

	pub := incognito(t, ctx)
	run(t, pub, "redeem",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#redeem-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), "li.wei@example.com"),
		chromedp.SendKeys(chromedp.CSS("#code"), gen.Codes[0]),
		chromedp.Click(chromedp.CSS("#redeem-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#seat-status")),
	)
	if l := get(t, pub, "location", chromedp.Location()); l != base+"/redeem" {
		t.Fatalf("the redeem form posted to %s", l)
	}
	if s := text(t, pub, "#seat-team"); s != "team-a" {
		t.Fatalf("team %q", s)
	}
	if !get(t, pub, "stylesheet", chromedp.Evaluate[bool](styled)) {
		t.Fatal("the public page's stylesheet did not load")
	}
	shot(t, pub, "berth-subpath-4-redeemed.png")
}

// shot saves the whole page to /tmp/name.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile("/tmp/"+name, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: /tmp/%s", name)
}
