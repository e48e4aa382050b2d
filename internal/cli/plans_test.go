package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
)

// TestPlansVerbs: plans create shows the steps, plans show reads the
// plan, plans apply applies it once (a second apply exits 1 with the
// server's detail); mistakes exit 2.
func TestPlansVerbs(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	env := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": apptest.Token}
	id := h.Pool("team-1", "team", 5, 0)
	params := `{"ids": [` + strconv.FormatInt(id, 10) + `], "status": "paused"}`
	out, errOut, code := run(t, env, "plans", "create", "-o", "json", "pools.status", params)
	var p struct {
		ID    int64
		State string
	}
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || p.ID == 0 || p.State != "open" {
		t.Fatalf("plans create: %d\n%s\n%s", code, out, errOut)
	}
	ref := strconv.FormatInt(p.ID, 10)
	out, errOut, code = run(t, env, "plans", "show", ref)
	if code != 0 || !strings.Contains(out, "pool team-1: active → paused") || !strings.Contains(out, "open") {
		t.Fatalf("plans show: %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, env, "plans", "apply", ref)
	if code != 0 || !strings.Contains(out, "applied: 1 done, 0 queued, 0 failed") {
		t.Fatalf("plans apply: %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, env, "plans", "apply", ref)
	if code != 1 || !strings.Contains(errOut, "was applied") {
		t.Fatalf("second apply: %d\n%s\n%s", code, out, errOut)
	}
	// A rebalance plan shows its imbalance before and after.
	h.Pool("team-2", "team", 5, 0)
	out, errOut, code = run(t, env, "plans", "create", "rebalance", `{"kind": "team", "max_moves": 5, "strategy": "spread"}`)
	if code != 0 || !strings.Contains(out, "nothing to do") || !strings.Contains(out, "spread: 0 move(s), 0 member(s) pinned") ||
		!strings.Contains(out, "before: 1 pools, 0 in use") {
		t.Fatalf("plans create rebalance: %d\n%s\n%s", code, out, errOut)
	}
	// Nothing scheduled to stop: refused with the server's detail.
	if out, errOut, code = run(t, env, "plans", "cancel", ref); code != 1 || !strings.Contains(errOut, "no scheduled moves") {
		t.Fatalf("plans cancel: %d\n%s\n%s", code, out, errOut)
	}
	for _, args := range [][]string{{"plans"}, {"plans", "create"}, {"plans", "create", "pools.status", "{not json"}, {"plans", "show"}, {"plans", "drop"}} {
		if _, errOut, code := run(t, env, args...); code != 2 || !strings.Contains(errOut, "usage: berth ") {
			t.Errorf("%v: code %d\n%s", args, code, errOut)
		}
	}
}
