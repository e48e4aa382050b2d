package web_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPoolForm: an admin opens the new-team form from the teams
// page, picks the webhook provider and creates the team; its edit form
// shows the secret as "(set)", never the value.
func TestBrowserPoolForm(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	c.h.Pool("team-1", "team", 5, 1)
	signInBrowser(t, ctx, c.URL, "admin", adminPassword)
	const secret = "browser-secret-0123456789abcdef"
	run(t, ctx, "new team form",
		chromedp.Navigate(c.URL+"/admin/teams"), chromedp.WaitVisible(chromedp.CSS("#pool-new")),
		chromedp.Click(chromedp.CSS("#pool-new")), chromedp.WaitVisible(chromedp.CSS("#pool-form")),
		chromedp.SendKeys(chromedp.CSS("#pf-name"), "team-hook"),
		chromedp.SendKeys(chromedp.CSS("#pf-capacity"), "12"),
		chromedp.SendKeys(chromedp.CSS("#pf-labels"), "region=eu"),
		chromedp.SetValue(chromedp.CSS("#pf-type"), "webhook"),
		chromedp.SendKeys(chromedp.CSS(`[id="p.webhook.url"]`), "https://example.com/hook"),
		chromedp.SendKeys(chromedp.CSS(`[id="p.webhook.secret"]`), secret),
	)
	if n := get(t, ctx, "shown groups", chromedp.Evaluate[int](`document.querySelectorAll("fieldset[data-provider]:not([hidden])").length`)); n != 1 {
		t.Fatalf("%d provider groups shown, want only the webhook's", n)
	}
	screenshot(t, ctx, "30-pool-form-new.png")
	run(t, ctx, "create", chromedp.Click(chromedp.CSS("#pool-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#pools-form")))
	if s := text(t, ctx, "main"); !strings.Contains(s, "Created team-hook.") || !strings.Contains(s, "team-hook") {
		t.Fatalf("teams page after create: %q", s)
	}
	p, typ, cfg := c.poolByName("team-hook")
	if p.Capacity != 12 || typ != "webhook" || cfg["secret"] != secret {
		t.Fatalf("team-hook: %+v %s", p, typ)
	}
	run(t, ctx, "edit form", chromedp.Navigate(c.URL+"/admin/teams/"+strconv.FormatInt(p.ID, 10)+"/edit"), chromedp.WaitVisible(chromedp.CSS("#pool-form")))
	html := get(t, ctx, "html", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if strings.Contains(html, secret) || !strings.Contains(html, "(set)") {
		t.Fatal("the edit form shows the secret, or not that it is set")
	}
	screenshot(t, ctx, "31-pool-form-edit.png")
}
