package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/model"
)

// TestCatalogueComplete: every key the templates and handlers use exists,
// in both languages.
func TestCatalogueComplete(t *testing.T) {
	for k, v := range catalogue {
		if strings.TrimSpace(v[0]) == "" || strings.TrimSpace(v[1]) == "" {
			t.Errorf("%s: empty translation %q", k, v)
		}
		if strings.Count(v[0], "%") != strings.Count(v[1], "%") {
			t.Errorf("%s: the languages take different arguments: %q / %q", k, v[0], v[1])
		}
		if strings.Count(v[0], "{") != strings.Count(v[1], "{") {
			t.Errorf("%s: the languages use different placeholders: %q / %q", k, v[0], v[1])
		}
	}
	used := map[string]bool{}
	key := regexp.MustCompile(`\bT "([a-z_.]+)"|\.T\("([a-z_.]+)"|titleKey|"([a-z]+\.[a-z_.]+)"`)
	var sources []string
	tmpl, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range tmpl {
		b, _ := fs.ReadFile(templateFS, n)
		sources = append(sources, string(b))
	}
	goFiles, _ := filepath.Glob("*.go")
	for _, n := range goFiles {
		if strings.HasSuffix(n, "_test.go") || n == "i18n.go" {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, string(b))
	}
	prefixes := []string{"a11y.", "accounts.", "alert.", "api.", "audit.", "brand.", "bulk.", "codes.", "common.", "dash.", "drain.", "err.", "forecast.",
		"footer.", "history.", "integrity.", "kind.", "lang.", "login.", "migrate.", "migration.", "move.", "moves.", "nav.", "plan.", "pools.", "public.", "queue.", "redeem.",
		"seats.", "status.", "upload.", "users.", "ustatus."}
	for _, src := range sources {
		for _, m := range key.FindAllStringSubmatch(src, -1) {
			for _, k := range m[1:] {
				if k == "" {
					continue
				}
				for _, p := range prefixes {
					if strings.HasPrefix(k, p) && !strings.HasSuffix(k, ".") {
						used[k] = true
					}
				}
			}
		}
	}
	// Keys built from a kind.
	for _, kind := range []string{"server", "team"} {
		for _, p := range []string{"bulk.confirm_one.", "bulk.confirm_many.", "pools.caption.", "pools.none.", "pools.title.", "kind.",
			"forecast.kind.", "forecast.add.", "forecast.add_one.", "drain.back_"} {
			k := p + kind
			if p == "kind." {
				used[k+".one"], used[k+".plural"] = true, true
				continue
			}
			used[k] = true
		}
	}
	for _, it := range append(append([]navItem{}, adminNav...), publicNav...) {
		used[it.Key] = true
	}
	if len(used) < 200 {
		t.Fatalf("found only %d keys in use; the scan is broken", len(used))
	}
	for k := range used {
		if _, ok := catalogue[k]; !ok {
			t.Errorf("key %q is used but not in the catalogue", k)
		}
	}
	// Every enumerated value shown has its words.
	groups := map[string][]string{}
	for _, s := range model.PoolStatuses() {
		groups["status"] = append(groups["status"], string(s))
	}
	for _, s := range model.SeatStates() {
		groups["state"] = append(groups["state"], string(s))
	}
	groups["state"] = append(groups["state"], "pending", "queued", "placed", "failed")
	for _, r := range auth.Roles() {
		groups["role"] = append(groups["role"], string(r))
	}
	groups["code"] = []string{"unused", "bound", "expired", "disabled"}
	groups["mstate"] = []string{"pending", "done", "failed", "cancelled"}
	groups["ustate"] = []string{"unused", "pending", "active", "queued", "expired", "released"}
	groups["outcome"] = []string{"placed", "queued", "rejected"}
	groups["drift"] = []string{"pool_used", "code_used", "code_rebind"}
	groups["action"] = historyActions
	for _, c := range model.MoveCauses() {
		groups["mcause"] = append(groups["mcause"], string(c))
	}
	for g, vs := range groups {
		for _, v := range vs {
			if _, ok := catalogue[g+"."+v]; !ok {
				t.Errorf("no words for %s %q", g, v)
			}
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	for h, want := range map[string]lang{
		"":                          en,
		"zh-CN,zh;q=0.9,en;q=0.8":   zh,
		"en-US,en;q=0.9,zh;q=0.8":   en,
		"fr-FR,zh-TW;q=0.5":         zh,
		"de, en;q=0.3, zh-cn;q=0.6": zh,
		"zh;q=0, en":                en,
		"ja":                        en,
	} {
		if got := fromAcceptLanguage(h); got != want {
			t.Errorf("%q: %s, want %s", h, got, want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/teams?x=1":     "/admin/teams?x=1",
		"//evil.example":       "/d",
		"https://evil.example": "/d",
		"/\\evil":              "/d",
		"":                     "/d",
		"admin":                "/d",
		"/ok\r\nSet-Cookie:":   "/d",
	} {
		if got := localPath(in, "/d"); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
