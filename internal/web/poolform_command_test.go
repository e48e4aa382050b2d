package web_test

import (
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPoolFormCommandList: an sftp pool's after_put and
// permanent_exit_codes are typed in the console as JSON lists, stored as
// lists, shown again as typed; anything else is refused on the form.
func TestPoolFormCommandList(t *testing.T) {
	c := startConsole(t)
	admin := c.signIn("admin", adminPassword)
	form := c.do(admin, "GET", "/admin/servers/new", nil, nil)
	if !strings.Contains(form.Body, `name="p.sftp.after_put"`) || !strings.Contains(form.Body, "A JSON list, e.g.") {
		t.Fatalf("new-pool form lacks after_put and its hint:\n%s", form.Body)
	}
	fields := url.Values{"name": {"worker-c"}, "capacity": {"2"}, "provider_type": {"sftp"},
		"p.sftp.host": {"10.0.0.5"}, "p.sftp.user": {"ubuntu"}, "p.sftp.password": {"pw"}, "p.sftp.dir": {"/home/ubuntu/sessions"},
		"p.sftp.host_key":  {"SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"},
		"p.sftp.after_put": {"not a list"}}
	r := c.do(admin, "POST", "/admin/servers/new", fields, nil)
	if r.Status != 200 || !strings.Contains(html.UnescapeString(r.Body), `after_put "not a list": not a JSON list`) {
		t.Fatalf("a non-list: %d\n%s", r.Status, r.Body)
	}
	fields.Set("p.sftp.after_put", `["/usr/local/bin/reload-worker", "{account}", "{path}"]`)
	fields.Set("p.sftp.permanent_exit_codes", "[2, 9]")
	c.post(admin, "/admin/servers/new", fields)
	p, typ, cfg := c.poolByName("worker-c")
	if typ != "sftp" || fmt.Sprint(cfg["after_put"]) != "[/usr/local/bin/reload-worker {account} {path}]" ||
		fmt.Sprint(cfg["permanent_exit_codes"]) != "[2 9]" {
		t.Fatalf("stored %s %v", typ, cfg)
	}
	edit := c.do(admin, "GET", "/admin/servers/"+strconv.FormatInt(p.ID, 10)+"/edit", nil, nil)
	if body := html.UnescapeString(edit.Body); !strings.Contains(body, `value="["/usr/local/bin/reload-worker","{account}","{path}"]"`) ||
		!strings.Contains(body, `value="[2,9]"`) {
		t.Fatalf("edit form does not show the lists:\n%s", edit.Body)
	}
}

// TestBrowserPoolFormCommandList: the sftp settings show after_put with
// its hint and keep a JSON list typed into it.
func TestBrowserPoolFormCommandList(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	signInBrowser(t, ctx, c.URL, "admin", adminPassword)
	run(t, ctx, "new server form",
		chromedp.Navigate(c.URL+"/admin/servers/new"), chromedp.WaitVisible(chromedp.CSS("#pool-form")),
		chromedp.SendKeys(chromedp.CSS("#pf-name"), "worker-b"),
		chromedp.SendKeys(chromedp.CSS("#pf-capacity"), "3"),
		chromedp.SetValue(chromedp.CSS("#pf-type"), "sftp"),
		chromedp.SendKeys(chromedp.CSS(`[id="p.sftp.host"]`), "10.0.0.5"),
		chromedp.SendKeys(chromedp.CSS(`[id="p.sftp.user"]`), "ubuntu"),
		chromedp.SendKeys(chromedp.CSS(`[id="p.sftp.password"]`), "pw"),
		chromedp.SendKeys(chromedp.CSS(`[id="p.sftp.host_key"]`), "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"),
		chromedp.SendKeys(chromedp.CSS(`[id="p.sftp.dir"]`), "/home/ubuntu/sessions"),
		chromedp.SendKeys(chromedp.CSS(`[id="p.sftp.after_put"]`), `["/usr/local/bin/reload-worker", "{account}", "{path}"]`),
		chromedp.SendKeys(chromedp.CSS(`[id="p.sftp.permanent_exit_codes"]`), `[2]`),
		chromedp.ScrollIntoView(chromedp.CSS(`[id="p.sftp.after_put"]`)),
	)
	screenshotTop(t, ctx, "60-pool-form-sftp-command.png")
	run(t, ctx, "create", chromedp.Click(chromedp.CSS("#pool-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#pools-form")))
	_, _, cfg := c.poolByName("worker-b")
	if fmt.Sprint(cfg["after_put"]) != "[/usr/local/bin/reload-worker {account} {path}]" || fmt.Sprint(cfg["permanent_exit_codes"]) != "[2]" {
		t.Fatalf("stored %v", cfg)
	}
}
