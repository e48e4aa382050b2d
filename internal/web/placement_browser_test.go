package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berthhq/berth/internal/store"
)

// TestBrowserWeightAndUploadLabels (issue 14 §6): the pool form sets a
// server's weight; the upload dialog's labels field gives the accounts
// labels, so they go only to the server carrying them (the other server,
// with a group, is closed to them).
func TestBrowserWeightAndUploadLabels(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	c.h.Do("POST", "/api/v1/pools", map[string]any{"name": "srv-vip", "kind": "server", "capacity": 8,
		"labels": map[string]string{"group": "vip", "region": "eu"}, "provider": map[string]any{"type": "sim"}}).MustStatus(t, 201)
	signInBrowser(t, ctx, c.URL, "admin", adminPassword)
	run(t, ctx, "new server form",
		chromedp.Navigate(c.URL+"/admin/servers/new"), chromedp.WaitVisible(chromedp.CSS("#pool-form")),
		chromedp.SendKeys(chromedp.CSS("#pf-name"), "srv-eu"),
		chromedp.SendKeys(chromedp.CSS("#pf-capacity"), "8"),
		chromedp.SetValue(chromedp.CSS("#pf-weight"), "3"),
		chromedp.SendKeys(chromedp.CSS("#pf-labels"), "region=eu"),
	)
	screenshot(t, ctx, "60-pool-form-weight.png")
	run(t, ctx, "create", chromedp.Click(chromedp.CSS("#pool-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#pools-form")))
	p, _, _ := c.poolByName("srv-eu")
	if p.Weight != 3 || p.Labels["region"] != "eu" {
		t.Fatalf("srv-eu: weight %d labels %v, want 3 and region=eu", p.Weight, p.Labels)
	}
	run(t, ctx, "edit form", chromedp.Navigate(fmt.Sprintf("%s/admin/servers/%d/edit", c.URL, p.ID)), chromedp.WaitVisible(chromedp.CSS("#pf-weight")))
	if v := get(t, ctx, "weight shown", chromedp.Evaluate[string](`document.getElementById("pf-weight").value`)); v != "3" {
		t.Fatalf("the edit form shows weight %q", v)
	}

	dir := t.TempDir()
	var paths []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("eu%d.session", i))
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	run(t, ctx, "upload with labels",
		chromedp.Navigate(c.URL+"/admin/accounts"),
		chromedp.Click(chromedp.CSS("#upload-open")),
		chromedp.WaitVisible(chromedp.CSS("#upload-dialog")),
		chromedp.SetUploadFiles(chromedp.CSS("#up-files"), paths),
		chromedp.SetValue(chromedp.CSS("#up-script"), "S"),
		chromedp.SendKeys(chromedp.CSS("#up-labels"), "region=eu"),
		chromedp.Click(chromedp.CSS("#up-submit")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#up-rows tr").length === 3`, chromedp.WithPollingTimeout(20*time.Second)),
	)
	screenshot(t, ctx, "61-upload-labels.png")
	rows := text(t, ctx, "#up-rows")
	if strings.Count(rows, "srv-eu") < 3 || strings.Contains(rows, "srv-vip") {
		t.Fatalf("upload rows %q: want all three on srv-eu, none on the vip server", rows)
	}

	// Codes with labels beyond their group; a bad label is refused with
	// what to write.
	gen := func(labels string) {
		run(t, ctx, "generate codes with labels "+labels,
			chromedp.Navigate(c.URL+"/admin/codes"), chromedp.WaitVisible(chromedp.CSS("#generate-form")),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#generate-form").closest("details").open = true`),
			chromedp.SetValue(chromedp.CSS("#g-count"), "2"),
			chromedp.SetValue(chromedp.CSS("#g-group"), "vip"),
			chromedp.SetValue(chromedp.CSS("#g-labels"), labels),
			chromedp.SetValue(chromedp.CSS("#g-batch"), "labelled"),
			chromedp.Click(chromedp.CSS("#generate-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
	}
	gen("region")
	if s := text(t, ctx, ".flash.error"); !strings.Contains(s, "key=value") {
		t.Fatalf("a label without '=': flash %q", s)
	}
	screenshot(t, ctx, "62-codes-bad-label.png")
	gen("region=eu, tier=gold")
	codes, err := c.h.App.Store.CodeList(t.Context(), store.CodeFilter{Batch: "labelled", Limit: 10})
	if err != nil || len(codes) != 2 || codes[0].Labels["region"] != "eu" || codes[0].Labels["tier"] != "gold" || codes[0].Group != "vip" {
		t.Fatalf("codes %+v (%v), want two of group vip with region=eu, tier=gold", codes, err)
	}
}

// TestBrowserPlacementStrategy: an operator stores the servers' strategy
// and a group's from the servers page; the page's summary says them, in
// both languages, and placement reads them.
func TestBrowserPlacementStrategy(t *testing.T) {
	ctx := browser(t)
	c := startConsole(t)
	c.h.Pool("srv-1", "server", 4, 0)
	signInBrowser(t, ctx, c.URL, "oper", userPassword)
	save := func(group, strategy string) {
		run(t, ctx, "save "+group+" "+strategy,
			chromedp.Navigate(c.URL+"/admin/servers"), chromedp.WaitVisible(chromedp.CSS("#placement")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("placement").open = true`),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById("pl-group").value = %q; document.getElementById("pl-strategy").value = %q`, group, strategy)),
			chromedp.Click(chromedp.CSS("#placement-save")),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
	}
	save("", "spread")
	save("vip", "pack")
	if s := text(t, ctx, ".flash.ok"); s != "Placement strategy for group vip: pack (fill one pool first)." {
		t.Fatalf("flash %q", s)
	}
	if s := text(t, ctx, "#placement summary"); s != "Placement strategy: spread (least loaded); group vip: pack (fill one pool first)" {
		t.Fatalf("summary %q", s)
	}
	run(t, ctx, "open", chromedp.Evaluate[chromedp.Void](`document.getElementById("placement").open = true`))
	screenshot(t, ctx, "63-placement-strategy.png")
	list, err := c.h.App.Store.PlacementSettings(t.Context())
	if err != nil || len(list) != 2 || list[0].Strategy != "spread" || list[1].Group != "vip" || list[1].UpdatedBy != "oper" {
		t.Fatalf("stored %+v (%v)", list, err)
	}
	run(t, ctx, "chinese", chromedp.Navigate(c.URL+"/lang?to=zh-CN&next=/admin/servers"), chromedp.WaitVisible(chromedp.CSS("#placement")))
	if s := text(t, ctx, "#placement summary"); s != "分配策略: 均衡（负载最低优先）; vip 组: 集中（先填满一个池）" {
		t.Fatalf("zh summary %q", s)
	}
	run(t, ctx, "english", chromedp.Navigate(c.URL+"/lang?to=en&next=/admin/servers"), chromedp.WaitVisible(chromedp.CSS("#placement")))
	save("", "")
	if list, _ := c.h.App.Store.PlacementSettings(t.Context()); len(list) != 1 {
		t.Fatalf("after removing the kind's setting: %+v", list)
	}
}
