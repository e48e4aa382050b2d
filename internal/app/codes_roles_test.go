package app_test

import (
	"bytes"
	"encoding/csv"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
)

// Redeem codes are shown in full to operators and admins only; viewers see
// the hint (the last four characters), in the API, its CSV export and the
// console's export link (issue 11, finding 2). The CSV passes every free
// text cell through the formula guard, group included (finding 7a).

func TestCodesInFullOnlyForOperators(t *testing.T) {
	t.Parallel()
	h := startWithRoles(t)
	const group = `=HYPERLINK("http://evil.example","x")`
	var gen struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 3, "group": group, "batch": "+batch"}).MustStatus(t, 201).JSON(t, &gen)
	if len(gen.Codes) != 3 {
		t.Fatalf("generated %v", gen.Codes)
	}
	hints := map[string]bool{}
	for _, c := range gen.Codes {
		norm := strings.ReplaceAll(c, "-", "")
		hints[norm[len(norm)-4:]] = true
	}
	// full reports whether out holds any generated code in full (as
	// printed, or without its dashes).
	full := func(out []byte) bool {
		for _, c := range gen.Codes {
			if bytes.Contains(out, []byte(c)) || bytes.Contains(out, []byte(strings.ReplaceAll(c, "-", ""))) {
				return true
			}
		}
		return false
	}

	callers := []struct {
		name   string
		full   bool
		cookie *http.Cookie
		token  string
	}{
		{name: "vera", full: false},
		{name: "otto", full: true},
		{name: "ada", full: true},
		{name: "admin-token", full: true, token: apptest.Token},
	}
	for i := range callers {
		if callers[i].token == "" {
			callers[i].cookie = signIn(t, h, callers[i].name, testPassword)
		}
	}
	for _, c := range callers {
		get := func(path string, hdr map[string]string) apptest.Response {
			t.Helper()
			return send(t, h, req{method: "GET", path: path, cookie: c.cookie, token: c.token, header: hdr}).MustStatus(t, 200)
		}

		// JSON list: code only for operator and above, hint for all.
		list := get("/api/v1/codes", nil)
		var items struct{ Items []map[string]any }
		list.JSON(t, &items)
		if len(items.Items) != 3 {
			t.Fatalf("%s: %d codes listed", c.name, len(items.Items))
		}
		for _, it := range items.Items {
			code, has := it["code"]
			if has != c.full || (c.full && !strings.Contains(strings.Join(gen.Codes, " "), code.(string))) {
				t.Fatalf("%s: listed code %v (want it shown: %v)", c.name, it, c.full)
			}
			if hint, _ := it["hint"].(string); !hints[hint] {
				t.Fatalf("%s: hint %q is not the end of a generated code", c.name, it["hint"])
			}
		}
		if full(list.Body) != c.full {
			t.Fatalf("%s: full codes in the JSON list: %v, want %v: %s", c.name, !c.full, c.full, list.Body)
		}

		// One code by its value: the viewer learns nothing it did not send,
		// but the answer has the hint only all the same.
		one := get("/api/v1/codes/"+gen.Codes[0], nil)
		var got struct{ Code map[string]any }
		one.JSON(t, &got)
		if _, has := got.Code["code"]; has != c.full {
			t.Fatalf("%s: GET one code: %s", c.name, one.Body)
		}

		// CSV, by format=csv and by Accept.
		for _, out := range []apptest.Response{get("/api/v1/codes?format=csv", nil),
			get("/api/v1/codes", map[string]string{"Accept": "text/csv"})} {
			if ct := out.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Fatalf("%s: CSV Content-Type %q", c.name, ct)
			}
			if full(out.Body) != c.full {
				t.Fatalf("%s: full codes in the CSV: %v, want %v:\n%s", c.name, !c.full, c.full, out.Body)
			}
			checkCodesCSV(t, c.name, out.Body, c.full, hints, group)
		}

		// Console: the codes page and the export link it offers.
		if c.cookie == nil {
			continue
		}
		page := get("/admin/codes", nil)
		if full(page.Body) != c.full {
			t.Fatalf("%s: full codes on the console's codes page: %v, want %v", c.name, !c.full, c.full)
		}
		for hint := range hints {
			if !c.full && !bytes.Contains(page.Body, []byte("…"+hint)) {
				t.Fatalf("%s: the codes page does not show the hint …%s", c.name, hint)
			}
		}
		m := regexp.MustCompile(`href="(/api/v1/codes\?[^"]*format=csv[^"]*)"`).FindSubmatch(page.Body)
		if m == nil {
			t.Fatalf("%s: no export link on the codes page", c.name)
		}
		link := html.UnescapeString(string(m[1]))
		export := get(link, nil)
		if full(export.Body) != c.full {
			t.Fatalf("%s: full codes behind the console's export link %s: %v, want %v", c.name, link, !c.full, c.full)
		}
		checkCodesCSV(t, c.name, export.Body, c.full, hints, group)
	}
}

// checkCodesCSV checks the codes CSV: a code column filled only for full,
// a hint column for all, and group and batch defused for spreadsheets.
func checkCodesCSV(t *testing.T, who string, body []byte, full bool, hints map[string]bool, group string) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("%s: CSV %v %v", who, recs, err)
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	for _, name := range []string{"code", "hint", "group", "batch"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("%s: CSV header %v has no %s", who, recs[0], name)
		}
	}
	for _, rec := range recs[1:] {
		if (rec[col["code"]] != "") != full {
			t.Fatalf("%s: CSV code cell %q (want it filled: %v)", who, rec[col["code"]], full)
		}
		if !hints[rec[col["hint"]]] {
			t.Fatalf("%s: CSV hint %q", who, rec[col["hint"]])
		}
		if rec[col["group"]] != "'"+group || rec[col["batch"]] != "'+batch" {
			t.Fatalf("%s: CSV group %q batch %q: a formula reaches the spreadsheet", who, rec[col["group"]], rec[col["batch"]])
		}
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("%s: CSV cell %q starts a formula", who, cell)
			}
		}
	}
}
