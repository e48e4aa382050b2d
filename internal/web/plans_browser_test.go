package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/model"
)

// TestBrowserPlanReview: in the bulk status dialog "Review plan" shows the
// plan page with one step per team; "Apply" applies it and the page shows
// what each step did.
func TestBrowserPlanReview(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	ids := c.teams(3)
	signInBrowser(t, ctx, c.URL, "oper", userPassword)
	openBulk(t, ctx, c, ids[:2]...)
	run(t, ctx, "choose paused, give a reason",
		chromedp.SetValue(chromedp.CSS("#bulk-status"), "paused"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("bulk-status").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.SendKeys(chromedp.CSS("#bulk-message"), "maintenance window"),
	)
	screenshot(t, ctx, "plan-01-dialog.png")
	run(t, ctx, "review", chromedp.Click(chromedp.CSS("#bulk-plan")), chromedp.WaitVisible(chromedp.CSS("#plan-steps")))
	if n := get(t, ctx, "steps", chromedp.Evaluate[int](`document.querySelectorAll("#plan-steps tbody tr").length`)); n != 2 {
		t.Fatalf("%d steps shown, want 2: %s", n, text(t, ctx, "#plan-steps"))
	}
	if p, _ := c.h.App.Store.PoolGet(t.Context(), ids[0]); p.Status != model.StatusActive {
		t.Fatalf("reviewing set team-1 %s", p.Status)
	}
	screenshot(t, ctx, "plan-02-review.png")
	// The review page has a flash too: wait for the applied page itself.
	run(t, ctx, "apply", chromedp.Click(chromedp.CSS("#plan-apply")))
	until(t, ctx, "the applied plan", `document.readyState === "complete" && !document.getElementById("plan-apply") && (document.getElementById("plan-state") || {}).textContent === "Applied"`)
	screenshot(t, ctx, "plan-03-applied.png")
	for i, id := range ids {
		p, _ := c.h.App.Store.PoolGet(t.Context(), id)
		want := model.StatusPaused
		if i == 2 {
			want = model.StatusActive
		}
		if p.Status != want {
			t.Fatalf("%s is %s, want %s", p.Name, p.Status, want)
		}
	}
}

// TestBrowserPlanDrainZh: "Plan drain" on a server with accounts shows, in
// Chinese, the status step and one move per account to where placement
// would put it; Apply starts the moves.
func TestBrowserPlanDrainZh(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	src := c.h.Pool("srv-1", "server", 10, 0)
	c.h.Pool("srv-2", "server", 10, 5)
	c.h.Import("script-A", apptest.Files("63927700", 0, 3))
	signInBrowser(t, ctx, c.URL, "oper", userPassword)
	run(t, ctx, "servers in Chinese", chromedp.Navigate(c.URL+"/admin/servers"), chromedp.Click(chromedp.CSS(".lang-switch")))
	until(t, ctx, "the page in Chinese", `document.readyState === "complete" && document.documentElement.lang === "zh-CN"`)
	run(t, ctx, "plan the drain", chromedp.Click(chromedp.CSS(fmt.Sprintf("#drain-plan-%d", src))), chromedp.WaitVisible(chromedp.CSS("#plan-steps")))
	moves := get(t, ctx, "moves", chromedp.Evaluate[int](`document.querySelectorAll('#plan-steps tr[data-op="move"]').length`))
	if steps := get(t, ctx, "steps", chromedp.Evaluate[string](`document.getElementById("plan-steps").innerText`)); moves != 3 || !strings.Contains(steps, "将 srv-1 从") || !strings.Contains(steps, "迁到 srv-2") {
		t.Fatalf("%d moves: %s", moves, steps)
	}
	run(t, ctx, "open the preconditions", chromedp.Click(chromedp.CSS("#plan-pre summary")))
	screenshot(t, ctx, "plan-04-drain-zh.png")
	run(t, ctx, "apply", chromedp.Click(chromedp.CSS("#plan-apply")), chromedp.WaitVisible(chromedp.CSS("#plan-follow")))
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "计划已应用：4 个完成") {
		t.Fatalf("flash %q", s)
	}
	screenshot(t, ctx, "plan-05-drain-applied-zh.png")
}
