package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The danger dialogs' "Review plan": a bulk status change and a drain are
// planned, shown step by step, and applied with "Apply" (POST, redirect,
// GET); an apply after the state changed says so and changes nothing; a
// viewer sees the plan without the Apply button.
func TestPlanReviewAndApply(t *testing.T) {
	c := startConsole(t)
	ctx := context.Background()
	st := c.h.App.Store
	t1 := c.h.Pool("team-1", "team", 5, 0)
	t2 := c.h.Pool("team-2", "team", 5, 0)
	op := c.signIn("oper", userPassword)
	ids := url.Values{"ids": {strconv.FormatInt(t1, 10), strconv.FormatInt(t2, 10)}, "status": {"paused"}, "message": {"maintenance"}}

	// Review: a plan page listing both steps; nothing changed yet.
	r := c.do(op, "POST", "/admin/teams/status/plan", ids, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/plans/") {
		t.Fatalf("review: %d to %q:\n%s", r.Status, r.Location, r.Body)
	}
	planPath := r.Location[:strings.Index(r.Location, "?")]
	page := c.do(op, "GET", r.Location, nil, nil)
	for _, want := range []string{`id="plan-steps"`, "Set team-1 from active to paused", "Set team-2 from active to paused", `id="plan-apply"`, "Plan made: 2 step(s)"} {
		if !strings.Contains(page.Body, want) {
			t.Fatalf("plan page lacks %q:\n%s", want, page.Body)
		}
	}
	if p, _ := st.PoolGet(ctx, t1); p.Status != "active" {
		t.Fatalf("reviewing changed team-1 to %s", p.Status)
	}
	// A viewer sees it, without Apply.
	if v := c.do(c.signIn("view", userPassword), "GET", planPath, nil, nil); v.Status != 200 || strings.Contains(v.Body, `id="plan-apply"`) {
		t.Fatalf("viewer: %d, apply button shown: %v", v.Status, strings.Contains(v.Body, `id="plan-apply"`))
	}

	// Apply: 303 back to the plan, which shows what each step did.
	r = c.do(op, "POST", planPath+"/apply", url.Values{}, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, planPath+"?") {
		t.Fatalf("apply: %d to %q", r.Status, r.Location)
	}
	page = c.do(op, "GET", r.Location, nil, nil)
	if !strings.Contains(page.Body, "Plan applied: 2 done, 0 queued, 0 failed.") || strings.Contains(page.Body, `id="plan-apply"`) {
		t.Fatalf("after apply:\n%s", page.Body)
	}
	for _, id := range []int64{t1, t2} {
		if p, _ := st.PoolGet(ctx, id); p.Status != "paused" {
			t.Fatalf("pool %d is %s after apply", id, p.Status)
		}
	}
	// Applying again is refused, in words.
	page = c.post(op, planPath+"/apply", url.Values{})
	if !strings.Contains(page.Body, "this plan was applied already") {
		t.Fatalf("second apply:\n%s", page.Body)
	}

	// A drain plan whose pool changed before Apply: refused, naming it.
	page = c.post(op, "/admin/teams/"+strconv.FormatInt(t1, 10)+"/drain/plan", url.Values{})
	if !strings.Contains(page.Body, "Set team-1 from paused to draining") {
		t.Fatalf("drain plan:\n%s", page.Body)
	}
	drainPlan := regexp.MustCompile(`action="(/admin/plans/\d+)/apply"`).FindStringSubmatch(page.Body)
	if drainPlan == nil {
		t.Fatalf("no apply form:\n%s", page.Body)
	}
	c.post(op, "/admin/teams/status", url.Values{"ids": {strconv.FormatInt(t1, 10)}, "status": {"active"}, "message": {"back"}})
	page = c.post(op, drainPlan[1]+"/apply", url.Values{})
	if !strings.Contains(page.Body, "Not applied: the state changed since the plan was made") || !strings.Contains(page.Body, "pool team-1 is active, was paused") {
		t.Fatalf("stale apply:\n%s", page.Body)
	}
	if p, _ := st.PoolGet(ctx, t1); p.Status != "active" {
		t.Fatalf("a refused plan set team-1 %s", p.Status)
	}

	// An integrity repair with no orphans: a plan with nothing to do.
	page = c.post(op, "/admin/integrity/repair/plan", url.Values{"limit": {"10"}})
	if !strings.Contains(page.Body, "Nothing to do") || !strings.Contains(page.Body, "repair orphans") {
		t.Fatalf("repair plan:\n%s", page.Body)
	}
	if r := c.do(op, "POST", "/admin/integrity/repair/plan", url.Values{"limit": {"0"}}, nil); r.Status != 200 || !strings.Contains(r.Body, "between 1 and 1000") {
		t.Fatalf("repair plan, limit 0: %d", r.Status)
	}

	// In Chinese too.
	zh := c.do(op, "GET", drainPlan[1], nil, map[string]string{"Accept-Language": "zh-CN"})
	if !strings.Contains(zh.Body, "将 team-1 从") {
		t.Fatalf("zh plan page:\n%s", zh.Body)
	}
}
