package web_test

// Browser tests: the real berth (apptest) driven through Debian's headless
// Chromium with chromedp. Each saves screenshots under artifacts/screenshots
// at the module root.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

const chromiumPath = "/usr/bin/chromium"

// screenshotDir is artifacts/screenshots at the module root.
var screenshotDir = filepath.Join("..", "..", "artifacts", "screenshots")

// browser starts a headless Chromium with a fresh profile and returns a
// context for one tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser tests need Debian's Chromium at %s (apt-get install chromium; .ci/run installs it): %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	if out, err := exec.Command("fc-list", ":lang=zh").Output(); err == nil && len(bytes.TrimSpace(out)) == 0 {
		t.Log("no Chinese font is installed (fc-list :lang=zh): Chinese screenshots will show boxes; apt-get install fonts-wqy-microhei")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// incognito returns a tab in a new browser context (its own cookies) of the
// browser of ctx.
func incognito(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	c, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(c); err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs steps with a time limit, failing the test with what was running
// (and a screenshot of the page as it was).
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		failShot(t, ctx)
		t.Fatalf("%s: %v", what, err)
	}
}

// failShot saves the page of a failed step as FAILED-<test>.png.
func failShot(t *testing.T, ctx context.Context) {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		return
	}
	os.MkdirAll(screenshotDir, 0o755)
	p := filepath.Join(screenshotDir, "FAILED-"+strings.ReplaceAll(t.Name(), "/", "-")+".png")
	if os.WriteFile(p, png, 0o644) == nil {
		t.Logf("page at the failure: %s", p)
	}
	loc, _ := chromedp.Run(c, chromedp.Location())
	t.Logf("location at the failure: %s", loc)
}

func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// until waits for a JavaScript condition, across navigations (a Poll
// does not survive one).
func until(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			failShot(t, ctx)
			t.Fatalf("waiting for %s (%s): %v", what, cond, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(get(t, ctx, "text of "+sel, chromedp.TextContent(chromedp.CSS(sel))))
}

// screenshot saves the whole page as artifacts/screenshots/name.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	save(t, name, get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100)))
}

// screenshotTop saves what the window shows (long pages).
func screenshotTop(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	save(t, name, get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot()))
}

func save(t *testing.T, name string, png []byte) {
	t.Helper()
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(screenshotDir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(p)
	t.Logf("screenshot: %s", abs)
}

func signInBrowser(t *testing.T, ctx context.Context, base, user, password string) {
	t.Helper()
	run(t, ctx, "sign in as "+user,
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".cards")),
	)
}

// teams gives c n teams of 5 seats, team-1 … team-n (priority i), and
// returns their ids.
func (c *console) teams(n int) []int64 {
	var ids []int64
	for i := 1; i <= n; i++ {
		ids = append(ids, c.h.Pool(fmt.Sprintf("team-%d", i), "team", 5, i))
	}
	return ids
}

// openBulk ticks the teams ids on the teams page and opens the bulk status
// dialog.
func openBulk(t *testing.T, ctx context.Context, c *console, ids ...int64) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(c.URL + "/admin/teams")}
	for _, id := range ids {
		steps = append(steps, chromedp.Click(chromedp.CSS(fmt.Sprintf("#pool-%d", id))))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS("#bulk-open")), chromedp.WaitVisible(chromedp.CSS("#bulk-dialog")))
	run(t, ctx, fmt.Sprintf("select %d teams, open the bulk dialog", len(ids)), steps...)
}

// seed gives the dashboard something to show: servers with accounts, teams,
// a queue and an alert.
func seed(t *testing.T, c *console) {
	t.Helper()
	c.h.Pool("srv-shanghai-1", "server", 10, 0)
	c.h.Pool("srv-shanghai-2", "server", 10, 0)
	off := c.h.Pool("srv-beijing-1", "server", 8, 0)
	c.h.Import("000新人欢迎剧本", apptest.Files("63927700", 0, 14))
	c.h.Import("script-B", apptest.Files("63927800", 0, 5))
	c.teams(3)
	c.h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{off}, "status": "offline", "message": "host unreachable"}).MustStatus(t, 200)
	c.h.Import("script-B", apptest.Files("63927900", 0, 5))
}

// TestBrowserSignIn: the admin pages send a signed-out browser to the
// sign-in page, and signing in lands on the dashboard.
func TestBrowserSignIn(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	seed(t, c)
	run(t, ctx, "open the console", chromedp.Navigate(c.URL+"/admin/teams"), chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "/login?next=%2Fadmin%2Fteams") {
		t.Fatalf("signed-out visit went to %s", loc)
	}
	screenshot(t, ctx, "01-sign-in.png")
	run(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), adminPassword),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#pools-form")),
	)
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/admin/teams") {
		t.Fatalf("after sign-in: %s, want the page asked for", loc)
	}
	run(t, ctx, "dashboard", chromedp.Navigate(c.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS(".cards")))
	if who := text(t, ctx, ".who"); !strings.Contains(who, "admin") {
		t.Fatalf("header shows %q", who)
	}
	if n := get(t, ctx, "bars", chromedp.Evaluate[int](`document.querySelectorAll("ul.bars meter").length`)); n != 6 {
		t.Fatalf("%d usage bars, want 6 (3 servers, 3 teams)", n)
	}
	if s := text(t, ctx, "#h-alerts + ul"); !strings.Contains(s, "srv-beijing-1") {
		t.Fatalf("the alert of the offline server is missing: %q", s)
	}
	if s := text(t, ctx, "#h-forecast + ul"); !strings.Contains(s, "Servers: add ") {
		t.Fatalf("the capacity forecast does not say to add servers: %q", s)
	}
	screenshot(t, ctx, "02-dashboard.png")
	run(t, ctx, "servers", chromedp.Navigate(c.URL+"/admin/servers"), chromedp.WaitVisible(chromedp.CSS("#pools-form")))
	screenshot(t, ctx, "03-servers.png")
}

// TestBrowserUpload: 20 credential files and a script through the upload
// dialog, with progress, and 20 results listed.
func TestBrowserUpload(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	c.h.Pool("srv-1", "server", 8, 0)
	c.h.Pool("srv-2", "server", 8, 0)
	dir := t.TempDir()
	var paths []string
	for i := range 20 {
		p := filepath.Join(dir, fmt.Sprintf("6392773%05d.session", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("SQLite format 3\x00 session %d", i)), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	signInBrowser(t, ctx, c.URL, "oper", userPassword)
	run(t, ctx, "open the upload dialog",
		chromedp.Navigate(c.URL+"/admin/accounts"),
		chromedp.Click(chromedp.CSS("#upload-open")),
		chromedp.WaitVisible(chromedp.CSS("#upload-dialog")),
		chromedp.SetUploadFiles(chromedp.CSS("#up-files"), paths),
		chromedp.SetValue(chromedp.CSS("#up-script"), "000新人欢迎剧本"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("up-files").dispatchEvent(new Event("change", {bubbles: true}))`),
	)
	if s := text(t, ctx, "#up-chosen"); s != "20 files chosen" {
		t.Fatalf("chosen: %q", s)
	}
	run(t, ctx, "upload",
		chromedp.Click(chromedp.CSS("#up-submit")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#up-rows tr").length === 20`, chromedp.WithPollingTimeout(20*time.Second)),
	)
	if v := get(t, ctx, "progress", chromedp.Evaluate[float64](`document.getElementById("up-progress").value`)); v != 100 {
		t.Fatalf("progress ended at %v", v)
	}
	sum := text(t, ctx, "#up-summary")
	if sum != "20 files: 16 placed, 4 queued, 0 rejected." {
		t.Fatalf("summary %q", sum)
	}
	first := text(t, ctx, "#up-rows tr:first-child")
	if !strings.Contains(first, "639277300000.session") || !strings.Contains(first, "placed") {
		t.Fatalf("first row %q", first)
	}
	// A tall window, so the screenshot shows all 20 results.
	run(t, ctx, "tall window", chromedp.EmulateViewport(1280, 2000))
	screenshot(t, ctx, "04-upload-20-results.png")
	run(t, ctx, "normal window", chromedp.EmulateViewport(1280, 900))
	accounts, err := c.h.App.Store.AccountList(t.Context(), store.AccountFilter{Script: "000新人欢迎剧本"})
	if err != nil || len(accounts) != 20 {
		t.Fatalf("%d accounts stored (%v)", len(accounts), err)
	}
	// Closing the dialog reloads the list, which shows the new accounts.
	run(t, ctx, "close", chromedp.Click(chromedp.CSS("#upload-dialog [data-close-dialog]")))
	until(t, ctx, "the list to reload", `document.readyState === "complete" && document.querySelectorAll("#up-rows tr").length === 0`)
	if s := text(t, ctx, "#acc-caption"); s != "20 accounts" {
		t.Fatalf("after the upload the list says %q", s)
	}
}

// TestBrowserBulkBan: three teams set to banned through the confirmation
// dialog, which counts them and warns in red; each is reported.
func TestBrowserBulkBan(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	ids := c.teams(4)
	signInBrowser(t, ctx, c.URL, "oper", userPassword)
	openBulk(t, ctx, c, ids[:3]...)
	if s := text(t, ctx, "#bulk-count"); s != "3 selected" {
		t.Fatalf("count %q", s)
	}
	if dis := get(t, ctx, "confirm disabled", chromedp.Evaluate[bool](`document.getElementById("bulk-confirm").disabled`)); !dis {
		t.Fatal("confirm is enabled before a status is chosen")
	}
	run(t, ctx, "choose banned",
		chromedp.SetValue(chromedp.CSS("#bulk-status"), "banned"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("bulk-status").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.SendKeys(chromedp.CSS("#bulk-message"), "provider banned the workspaces"),
		chromedp.WaitVisible(chromedp.CSS("#bulk-warning")),
	)
	if s := text(t, ctx, "#bulk-summary"); s != "Set 3 teams to “banned”?" {
		t.Fatalf("summary %q", s)
	}
	if col := get(t, ctx, "warning colour", chromedp.Evaluate[string](`getComputedStyle(document.getElementById("bulk-warning")).color`)); col != "rgb(179, 38, 30)" {
		t.Fatalf("warning colour %s, want red", col)
	}
	screenshot(t, ctx, "05-bulk-confirm-banned.png")
	run(t, ctx, "confirm", chromedp.Click(chromedp.CSS("#bulk-confirm")), chromedp.WaitVisible(chromedp.CSS("#bulk-results")))
	if n := get(t, ctx, "ok items", chromedp.Evaluate[int](`document.querySelectorAll("#bulk-results li.ok").length`)); n != 3 {
		t.Fatalf("%d teams reported changed, want 3: %s", n, text(t, ctx, "#bulk-results"))
	}
	screenshot(t, ctx, "06-bulk-results.png")
	for i, id := range ids {
		p, err := c.h.App.Store.PoolGet(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := model.StatusBanned
		if i == 3 {
			want = model.StatusActive
		}
		if p.Status != want || (i < 3 && p.StatusMessage != "provider banned the workspaces") {
			t.Fatalf("%s: %s %q, want %s", p.Name, p.Status, p.StatusMessage, want)
		}
	}
}

// TestBrowserRedeemStatusMove: a public user redeems a code, sees the seat,
// and moves for free when the team is banned.
func TestBrowserRedeemStatusMove(t *testing.T) {
	ctx := incognito(t, browser(t))
	c := startConsole(t)
	first := c.h.Pool("team-a", "team", 5, 1)
	c.h.Pool("team-b", "team", 5, 2)
	var gen struct{ Codes []string }
	c.h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 1, "max_uses": 1, "valid_for": "720h", "rebind_limit": 3}).MustStatus(t, 201).JSON(t, &gen)
	code, email := gen.Codes[0], "li.wei@example.com"
	run(t, ctx, "redeem",
		chromedp.Navigate(c.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#redeem-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#code"), strings.ToLower(code)),
		chromedp.Click(chromedp.CSS("#redeem-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#seat-status")),
	)
	if s := text(t, ctx, "#seat-team"); s != "team-a" {
		t.Fatalf("team %q", s)
	}
	screenshot(t, ctx, "07-redeemed.png")
	apptest.Eventually(t, 10*time.Second, "the seat to be delivered", func() bool {
		st, err := c.h.App.Alloc.Status(context.Background(), email, code)
		return err == nil && st.State == "active"
	})
	run(t, ctx, "status",
		chromedp.Navigate(c.URL+"/status"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("#status-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#move-button")),
	)
	if s := text(t, ctx, "#seat-state"); s != "ready" {
		t.Fatalf("state %q", s)
	}
	if s := text(t, ctx, "#move-button"); s != "Move to another team" {
		t.Fatalf("move button %q while the team is healthy", s)
	}
	if s := text(t, ctx, "#seat-moves"); s != "0 of 3 used, 3 left" {
		t.Fatalf("moves %q", s)
	}
	// The team is banned: the move becomes free, and the page says so.
	c.h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{first}, "status": "banned", "message": "banned"}).MustStatus(t, 200)
	run(t, ctx, "status again", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#move-button")))
	if s := text(t, ctx, "#move-button"); s != "Move to another team (free)" {
		t.Fatalf("move button %q while the team is banned", s)
	}
	screenshot(t, ctx, "08-status-free-move.png")
	run(t, ctx, "move", chromedp.Click(chromedp.CSS("#move-button")), chromedp.WaitVisible(chromedp.CSS("#move-result")))
	if s := text(t, ctx, "#move-result"); !strings.HasPrefix(s, "Moving you to team-b (free)") {
		t.Fatalf("move result %q", s)
	}
	screenshot(t, ctx, "09-moved.png")
	apptest.Eventually(t, 10*time.Second, "the move to finish", func() bool {
		st, err := c.h.App.Alloc.Status(context.Background(), email, code)
		return err == nil && st.State == "active" && st.Pool == "team-b" && !st.Moving
	})
	st, _ := c.h.App.Alloc.Status(context.Background(), email, code)
	if st.RebindCount != 0 {
		t.Fatalf("a free move was charged: %d", st.RebindCount)
	}
	// Readable on a phone.
	run(t, ctx, "phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Navigate(c.URL+"/status"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("#status-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#seat-status")),
	)
	if w := get(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Fatalf("the status page is %dpx wide on a 390px phone", w)
	}
	screenshot(t, ctx, "10-phone-status.png")
}

// TestBrowserLanguageSwitch: the switch on every page turns the console to
// Chinese and back, and the choice sticks.
func TestBrowserLanguageSwitch(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	seed(t, c)
	run(t, ctx, "redeem in English", chromedp.Navigate(c.URL+"/redeem"), chromedp.WaitVisible(chromedp.CSS("#redeem-form")))
	if l := get(t, ctx, "lang", chromedp.Evaluate[string](`document.documentElement.lang`)); l != "en" {
		t.Fatalf("lang %q", l)
	}
	run(t, ctx, "switch", chromedp.Click(chromedp.CSS(".lang-switch")))
	until(t, ctx, "the page in Chinese", `document.readyState === "complete" && document.documentElement.lang === "zh-CN"`)
	if h := text(t, ctx, "h1"); h != "兑换座位" {
		t.Fatalf("h1 %q", h)
	}
	screenshot(t, ctx, "11-redeem-zh.png")
	signInBrowser(t, ctx, c.URL, "admin", adminPassword)
	if h := text(t, ctx, "h1"); h != "概览" {
		t.Fatalf("dashboard h1 %q: the language did not stick", h)
	}
	if s := text(t, ctx, "#h-forecast + ul"); !strings.Contains(s, "台服务器") {
		t.Fatalf("the capacity forecast in Chinese: %q", s)
	}
	screenshot(t, ctx, "12-dashboard-zh.png")
	run(t, ctx, "teams in Chinese", chromedp.Navigate(c.URL+"/admin/teams"), chromedp.WaitVisible(chromedp.CSS("#pools-form")),
		chromedp.Click(chromedp.CSS("#select-all")), chromedp.Click(chromedp.CSS("#bulk-open")),
		chromedp.SetValue(chromedp.CSS("#bulk-status"), "paused"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("bulk-status").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.WaitVisible(chromedp.CSS("#bulk-warning")))
	if s := text(t, ctx, "#bulk-summary"); s != "将 3 个团队设为“已暂停”？" {
		t.Fatalf("summary %q", s)
	}
	screenshot(t, ctx, "13-teams-dialog-zh.png")
	run(t, ctx, "close dialog", chromedp.Click(chromedp.CSS("#bulk-dialog [data-close-dialog]")))
	run(t, ctx, "accounts in Chinese", chromedp.Navigate(c.URL+"/admin/accounts"), chromedp.WaitVisible(chromedp.CSS("#acc-caption")))
	screenshot(t, ctx, "14-accounts-zh.png")
	run(t, ctx, "switch back", chromedp.Click(chromedp.CSS(".lang-switch")))
	until(t, ctx, "the page in English", `document.readyState === "complete" && document.documentElement.lang === "en"`)
	if h := text(t, ctx, "h1"); h != "Accounts" {
		t.Fatalf("h1 after switching back %q", h)
	}
}

// a11yCheck finds form fields without a label and catalogue keys shown as
// text (a missing translation).
const a11yCheck = `(() => {
  const bad = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    const labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.getAttribute("aria-label") ||
      el.getAttribute("aria-labelledby") || el.closest("label");
    if (!labelled) bad.push("no label: " + (el.id || el.name));
  }
  const text = document.body.innerText;
  const m = text.match(/\b(nav|dash|pools|bulk|codes|seats|queue|history|integrity|upload|audit|users|err|common|ustatus|login|redeem|status|accounts)\.[a-z_]+\b/g);
  if (m) bad.push("untranslated: " + m.join(", "));
  if (!document.documentElement.lang) bad.push("no lang");
  if (document.querySelectorAll("h1").length !== 1) bad.push("h1 count " + document.querySelectorAll("h1").length);
  return bad;
})()`

// TestBrowserAdminPages opens every admin page with data on it, in both
// languages: fields are labelled, nothing is left untranslated, and each
// page is saved as a screenshot.
func TestBrowserAdminPages(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	seed(t, c)
	var gen struct{ Codes []string }
	c.h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 8, "max_uses": 1, "valid_for": "720h", "rebind_limit": 3, "group": "", "batch": "spring"}).
		MustStatus(t, 201).JSON(t, &gen)
	bg := context.Background()
	for i, code := range gen.Codes[:4] {
		if _, err := c.h.App.Alloc.Redeem(bg, fmt.Sprintf("user%d@example.com", i), code, "public"); err != nil {
			t.Fatal(err)
		}
	}
	apptest.Eventually(t, 10*time.Second, "seats delivered", func() bool {
		st, err := c.h.App.Alloc.Status(bg, "user0@example.com", gen.Codes[0])
		return err == nil && st.State == "active"
	})
	if _, err := c.h.App.Alloc.Rebind(bg, "user0@example.com", gen.Codes[0], "public"); err != nil {
		t.Fatal(err)
	}
	c.h.Import("script-C", apptest.Files("63928000", 0, 4)) // servers are full: these wait in the queue
	signInBrowser(t, ctx, c.URL, "admin", adminPassword)
	// One console action, for the audit log.
	run(t, ctx, "pause team-3",
		chromedp.Navigate(c.URL+"/admin/teams"),
		chromedp.Click(chromedp.CSS("#pools-form tbody tr:nth-child(3) input[name=ids]")),
		chromedp.Click(chromedp.CSS("#bulk-open")),
		chromedp.SetValue(chromedp.CSS("#bulk-status"), "paused"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("bulk-status").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.SendKeys(chromedp.CSS("#bulk-message"), "maintenance window"),
		chromedp.Click(chromedp.CSS("#bulk-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#bulk-results")))
	pages := []struct {
		path, ready, shot string
		top               bool
	}{
		{"/admin/seats", "#seats-caption", "15-seats.png", true},
		{"/admin/seats?email=user1%40example.com", "#seats-caption", "", false},
		{"/admin/codes", "#codes-caption", "16-codes.png", false},
		{"/admin/queue", "#queue-caption", "17-queue.png", false},
		{"/admin/history", "#hist-caption", "18-history.png", true},
		{"/admin/integrity", "#orph-h", "19-integrity.png", false},
		{"/admin/audit", "#api-table table", "20-audit.png", false},
		{"/admin/users", "#api-table table", "", false},
		{"/admin/accounts?script=script-B", "#acc-caption", "", false},
		{"/admin/servers", "#pools-caption", "", false},
		{"/admin/", ".cards", "", false},
	}
	for _, lang := range []string{"en", "zh-CN"} {
		run(t, ctx, "language "+lang, chromedp.Navigate(c.URL+"/lang?to="+lang+"&next=/admin/"), chromedp.WaitVisible(chromedp.CSS(".cards")))
		for _, p := range pages {
			run(t, ctx, p.path, chromedp.Navigate(c.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			if bad := get(t, ctx, "check "+p.path, chromedp.Evaluate[[]string](a11yCheck)); len(bad) > 0 {
				t.Errorf("%s (%s): %v", p.path, lang, bad)
			}
			switch {
			case p.shot == "" || lang != "en":
			case p.top:
				screenshotTop(t, ctx, p.shot)
			default:
				screenshot(t, ctx, p.shot)
			}
		}
	}
	screenshot(t, ctx, "22-dashboard-zh-with-queue.png")
	// Readable on a phone: the page does not scroll sideways (wide tables
	// scroll inside their own box).
	run(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Navigate(c.URL+"/lang?to=en&next=/admin/teams"), chromedp.WaitVisible(chromedp.CSS("#pools-caption")))
	if w := get(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("the teams page is %dpx wide on a 390px phone", w)
	}
	screenshotTop(t, ctx, "23-phone-teams.png")
	run(t, ctx, "phone dashboard", chromedp.Navigate(c.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS(".cards")))
	if w := get(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("the dashboard is %dpx wide on a 390px phone", w)
	}
	screenshot(t, ctx, "24-phone-dashboard.png")
	run(t, ctx, "desktop", chromedp.EmulateViewport(1280, 900))
	// The queue page lists the waiting accounts; the audit page the
	// sign-in.
	run(t, ctx, "queue", chromedp.Navigate(c.URL+"/lang?to=en&next=/admin/queue"), chromedp.WaitVisible(chromedp.CSS("#queue-caption")))
	n, err := c.h.App.Store.QueueLen(bg, model.KindServer)
	if err != nil || n == 0 {
		t.Fatalf("queue length %d (%v): the seed should leave accounts waiting", n, err)
	}
	if s := text(t, ctx, "#queue-caption"); s != fmt.Sprintf("%d waiting", n) {
		t.Fatalf("queue: %q, want %d waiting", s, n)
	}
	// An admin adds a user from the users page.
	run(t, ctx, "add a user",
		chromedp.Navigate(c.URL+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("#api-table table")),
		chromedp.SendKeys(chromedp.CSS("#nu-name"), "auditor"),
		chromedp.SendKeys(chromedp.CSS("#nu-password"), "auditor-password-1"),
		chromedp.Click(chromedp.CSS("#user-create button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#user-create .form-result.ok")))
	until(t, ctx, "the new user in the list", `document.querySelector("#api-table").innerText.includes("auditor")`)
	screenshot(t, ctx, "21-users.png")
	if _, _, err := c.h.App.Auth.Login(bg, "auditor", "auditor-password-1", "127.0.0.1"); err != nil {
		t.Fatalf("the user added on the page cannot sign in: %v", err)
	}
	run(t, ctx, "audit", chromedp.Navigate(c.URL+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS("#api-table table")))
	s := text(t, ctx, "#api-table")
	for _, want := range []string{"auth.login", "web: POST /admin/teams/status", "team-3 status: active → paused"} {
		if !strings.Contains(s, want) {
			t.Fatalf("the audit page does not show %q: %.600s", want, s)
		}
	}
}

// TestBrowserDrainProgress: draining a server from the servers page lands
// on its progress page, whose script updates the counts without a reload
// and says when nothing is left; in English and Chinese.
func TestBrowserDrainProgress(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	srv := c.h.Pool("srv-shanghai-1", "server", 3, 0)
	c.h.Import("000新人欢迎剧本", apptest.Files("63927700", 0, 3))
	c.h.Pool("srv-shanghai-2", "server", 2, 0)
	signInBrowser(t, ctx, c.URL, "admin", adminPassword)
	run(t, ctx, "drain srv-shanghai-1", chromedp.Navigate(c.URL+"/admin/servers"), chromedp.WaitVisible(chromedp.CSS("#pools-form")),
		chromedp.Evaluate[chromedp.Void](`window.confirm = function () { return true; }`),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[formaction="/admin/servers/%d/drain"]`, srv))),
		chromedp.WaitVisible(chromedp.CSS("[data-drain-progress]")))
	if s := text(t, ctx, ".flash.ok"); !strings.Contains(s, "Draining srv-shanghai-1: 2 moving, 1 queued") {
		t.Fatalf("flash %q", s)
	}
	// The script, not a reload, brings the counts: the flash stays.
	until(t, ctx, "two moved and one seat left", `document.querySelector('[data-drain-field="moved"]').textContent === "2" && `+
		`document.querySelector('[data-drain-field="remaining"]').textContent === "1" && document.querySelector(".flash.ok") !== null`)
	if s := text(t, ctx, `[data-drain-field="waiting"]`); s != "1" {
		t.Fatalf("waiting %q", s)
	}
	screenshot(t, ctx, "25-drain-progress.png")
	run(t, ctx, "in Chinese", chromedp.Click(chromedp.CSS(".lang-switch")))
	until(t, ctx, "the page in Chinese", `document.readyState === "complete" && document.documentElement.lang === "zh-CN"`)
	if h := text(t, ctx, "h1"); h != "清空 srv-shanghai-1" {
		t.Fatalf("h1 %q", h)
	}
	screenshot(t, ctx, "26-drain-progress-zh.png")
	c.h.Pool("srv-shanghai-3", "server", 1, 0)
	until(t, ctx, "the drain to finish", `document.querySelector("[data-drain-state]").textContent === "已没有待迁移的成员。" && `+
		`document.querySelector('[data-drain-field="remaining"]').textContent === "0"`)
	screenshot(t, ctx, "27-drain-done-zh.png")
}
