package web

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// templateURLAttr is an attribute that holds an address (href, src,
// action, formaction) or may (data-*), and its value.
var templateURLAttr = regexp.MustCompile(`\s(href|src|action|formaction|data-[a-z-]+)="([^"]*)"`)

// TestTemplatesUnderBase: no template writes a root-absolute address that
// bypasses {{base}}, the path berth is served under (BERTH_BASE_URL's
// path, docs/reverse-proxy.md): under /berth such a link, form, asset or
// script fetch would go to another application of the host. An address
// attribute starts with {{base}}, a fragment (#…), or is relative; one that
// starts with a template action must start with {{base}} (a Go value holding
// a root path gets the prefix in the template: {{base}}{{.Href}}).
func TestTemplatesUnderBase(t *testing.T) {
	// Every file of templates/, whichever embed reads it (*.html, *.tmpl).
	dir := os.DirFS(".")
	names, err := fs.Glob(dir, "templates/*")
	if err != nil || len(names) == 0 {
		t.Fatalf("templates: %v %v", names, err)
	}
	checked := 0
	for _, n := range names {
		b, err := fs.ReadFile(dir, n)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range templateURLAttr.FindAllStringSubmatch(line, -1) {
				attr, v := m[1], m[2]
				bad := strings.HasPrefix(v, "/")
				if !strings.HasPrefix(attr, "data-") {
					bad = bad || strings.HasPrefix(v, "{{") && !strings.HasPrefix(v, "{{base}}")
				}
				if bad {
					t.Errorf("%s:%d: %s=%q bypasses the base path; write %s=\"{{base}}%s\"", n, i+1, attr, v, attr, strings.TrimPrefix(v, "{{base}}"))
				}
				if strings.HasPrefix(v, "{{base}}") {
					checked++
				}
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d addresses under {{base}}: is the pattern still right?", checked)
	}
	// The script takes its addresses from the page (data-src, a form's
	// action), never writes one of its own.
	js, err := fs.ReadFile(assetFS, "assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	lit := regexp.MustCompile("[\"'`]/[A-Za-z]")
	for i, line := range strings.Split(string(js), "\n") {
		if lit.MatchString(line) {
			t.Errorf("assets/app.js:%d: a root-absolute address in the script: %s", i+1, strings.TrimSpace(line))
		}
	}
}
