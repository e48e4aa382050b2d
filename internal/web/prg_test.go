package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// TestActionsRedirectOnce: a console action answers 303 See Other to a GET
// page; the page shows the action's result (the generated codes, the
// message) once, to the user who acted only, and reloading it repeats
// nothing.
func TestActionsRedirectOnce(t *testing.T) {
	c := startConsole(t)
	ctx := t.Context()
	st := c.h.App.Store
	team := c.h.Pool("team-1", "team", 5, 0)
	op := c.signIn("oper", userPassword)
	count := func() int {
		t.Helper()
		items, err := st.CodeList(ctx, store.CodeFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	shown := regexp.MustCompile(`(?s)<textarea id="gen-codes"[^>]*>(.*?)</textarea>`)

	form := url.Values{"count": {"3"}, "max_uses": {"1"}, "valid_for": {"720h"}, "rebind_limit": {"3"}, "batch": {"prg"}}
	r := c.do(op, "POST", "/admin/codes/generate", form, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/codes?") {
		t.Fatalf("generate: %d to %q, want 303 to the codes page", r.Status, r.Location)
	}
	if count() != 3 {
		t.Fatalf("%d codes after one generation, want 3", count())
	}
	// Another signed-in user cannot read the result.
	if other := c.do(c.signIn("admin", adminPassword), "GET", r.Location, nil, nil); shown.MatchString(other.Body) {
		t.Fatal("another user saw the generated codes")
	}
	page := c.do(op, "GET", r.Location, nil, nil)
	m := shown.FindStringSubmatch(page.Body)
	if page.Status != http.StatusOK || m == nil || !strings.Contains(page.Body, "3 codes generated in batch prg") {
		t.Fatalf("the page after the redirect: %d:\n%s", page.Status, page.Body)
	}
	gen := strings.Fields(m[1])
	if len(gen) != 3 {
		t.Fatalf("codes shown %q", gen)
	}
	for _, code := range gen {
		if strings.Contains(r.Location, code) {
			t.Fatal("a code is in the redirect's URL")
		}
	}
	// Reloading the page shows the batch's list (where operators see the
	// codes too) without the one-time result, and makes nothing.
	again := c.do(op, "GET", r.Location, nil, nil)
	if again.Status != http.StatusOK || shown.MatchString(again.Body) || strings.Contains(again.Body, "3 codes generated") {
		t.Fatalf("a second GET shows the codes again: %d", again.Status)
	}
	if count() != 3 {
		t.Fatalf("%d codes after reloading the result page, want 3", count())
	}

	// A bulk status change: the message once, the change once.
	r = c.do(op, "POST", "/admin/teams/status", url.Values{"ids": {strconv.FormatInt(team, 10)}, "status": {"paused"}, "message": {"prg"}}, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/teams?") {
		t.Fatalf("status: %d to %q", r.Status, r.Location)
	}
	if page := c.do(op, "GET", r.Location, nil, nil); !strings.Contains(page.Body, `id="bulk-results"`) {
		t.Fatalf("the bulk result is not shown:\n%s", page.Body)
	}
	if page := c.do(op, "GET", r.Location, nil, nil); strings.Contains(page.Body, `id="bulk-results"`) {
		t.Fatal("the bulk result is shown twice")
	}
	hist, err := st.HistoryList(ctx, store.HistoryFilter{Action: model.ActPoolStatus, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 {
		t.Fatalf("%d status changes in history, want 1", len(hist))
	}
}
