package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserRebalance: on the servers page the rebalance form plans a
// spread rebalance; the plan page shows the paced moves and the imbalance
// before and after; Apply schedules them; Stop cancels them.
func TestBrowserRebalance(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	c.unevenServers()
	signInBrowser(t, ctx, c.URL, "oper", userPassword)
	run(t, ctx, "open the rebalance form",
		chromedp.Navigate(c.URL+"/admin/servers"),
		chromedp.Click(chromedp.CSS("#rebalance summary")),
		chromedp.WaitVisible(chromedp.CSS("#rebalance-form")),
		chromedp.SetValue(chromedp.CSS("#rb-max"), "10"),
	)
	screenshot(t, ctx, "rebalance-01-form.png")
	run(t, ctx, "review", chromedp.Click(chromedp.CSS("#rebalance-plan")), chromedp.WaitVisible(chromedp.CSS("#plan-rebalance")))
	if n := get(t, ctx, "steps", chromedp.Evaluate[int](`document.querySelectorAll('#plan-steps tr[data-op="move.paced"]').length`)); n != 4 {
		t.Fatalf("%d paced moves shown, want 4: %s", n, text(t, ctx, "#plan-steps"))
	}
	if s := text(t, ctx, "#rebalance-after"); !strings.Contains(s, "standard deviation 0.0%") {
		t.Fatalf("after: %q", s)
	}
	screenshot(t, ctx, "rebalance-02-plan.png")
	run(t, ctx, "apply", chromedp.Click(chromedp.CSS("#plan-apply")), chromedp.WaitVisible(chromedp.CSS("#rebalance-scheduled")))
	screenshot(t, ctx, "rebalance-03-applied.png")
	run(t, ctx, "stop", chromedp.Click(chromedp.CSS("#plan-stop")))
	until(t, ctx, "the stopped plan", `document.readyState === "complete" && !document.getElementById("plan-stop") && document.querySelectorAll('[data-status="cancelled"]').length === 4`)
	screenshot(t, ctx, "rebalance-04-stopped.png")
}
