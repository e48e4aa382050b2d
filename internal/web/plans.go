package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/plans"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/model"
)

// Plan, then apply, in the console: the danger dialogs (a bulk status
// change, a drain, an integrity repair) have "Review plan" beside their
// direct button. It makes a plan (package alloc/plans) and shows it on
// /admin/plans/{id}: each step in words, and "Apply", which applies
// exactly those steps or says what changed since (POST, then redirect).

// SetPlanTTL sets how long new plans may be applied (BERTH_PLAN_TTL).
func (w *Web) SetPlanTTL(ttl time.Duration) {
	if ttl > 0 {
		w.plans.TTL = ttl
	}
}

// makePlan creates action's plan from params and redirects to its page;
// a refusal is shown by show.
func (w *Web) makePlan(rw http.ResponseWriter, r *http.Request, action string, params any, show func(flash)) {
	b, err := json.Marshal(params)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p, err := w.plans.Create(r.Context(), action, b, actor(r))
	if err != nil {
		w.showRefusal(rw, r, err, show)
		return
	}
	httpx.NoteOf(r).Target = "plan=" + strconv.FormatInt(p.ID, 10) + " " + action
	l := w.lang(r)
	w.done(rw, r, "/admin/plans/"+strconv.FormatInt(p.ID, 10), nil, &result{Flash: []flash{{"ok", l.T("plan.created", len(p.Steps))}}})
}

// planPoolStatus plans the bulk status change of the pools dialog.
func (w *Web) planPoolStatus(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		ids, status, message, ok := w.statusForm(rw, r, kind, plans.MaxStatusIDs)
		if !ok {
			return
		}
		show := func(f flash) { w.renderPools(rw, r, kind, nil, f) }
		w.makePlan(rw, r, plans.ActionPoolStatus, map[string]any{"ids": ids, "status": status, "message": message}, show)
	}
}

// planDrain plans the drain of one pool.
func (w *Web) planDrain(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			w.notFound(rw, r)
			return
		}
		w.makePlan(rw, r, plans.ActionDrain, map[string]any{"id": id}, func(f flash) { w.renderPools(rw, r, kind, nil, f) })
	}
}

// planRepair plans an integrity repair.
func (w *Web) planRepair(rw http.ResponseWriter, r *http.Request) {
	limit, ok := w.repairLimit(rw, r)
	if !ok {
		return
	}
	w.makePlan(rw, r, plans.ActionRepair, map[string]any{"limit": limit}, func(f flash) { w.renderIntegrity(rw, r, nil, f) })
}

// planStepRow is one step of a plan as the page shows it.
type planStepRow struct {
	N      int
	Op     string
	Text   string
	Reason string
	// Status and Detail: what applying did (empty before).
	Status, Detail string
}

type planData struct {
	Plan plans.Plan
	// ActionText names the action; Rests says what the plan rests on.
	ActionText, Rests string
	Steps             []planStepRow
	// Pre says each precondition in words.
	Pre []string
	// Rebalance: a rebalance plan's imbalance before and after (rebalance.go).
	Rebalance *rebalanceView
	// Back is where the plan came from; Follow, after a drain's apply,
	// its progress page.
	Back, BackText, Follow string
}

func (w *Web) planPage(rw http.ResponseWriter, r *http.Request) {
	res := w.taken(r)
	w.renderPlan(rw, r, res.Flash...)
}

func (w *Web) renderPlan(rw http.ResponseWriter, r *http.Request, fl ...flash) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		w.notFound(rw, r)
		return
	}
	p, err := w.plans.Get(r.Context(), id)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	l := w.lang(r)
	d := &planData{Plan: p, ActionText: l.T("plan.action." + p.Action), Rests: l.T("plan.rests", len(p.Preconditions))}
	for i, st := range p.Steps {
		row := planStepRow{N: i + 1, Op: st.Op, Text: planStepText(l, st), Reason: l.Why(st.Why, st.Reason)}
		if row.Reason == "" {
			row.Reason = st.Message // a status step's reason, as the operator gave it
		}
		d.Steps = append(d.Steps, row)
	}
	for _, c := range p.Preconditions {
		d.Pre = append(d.Pre, planPreText(l, c))
	}
	d.Rebalance = rebalanceSummary(l, p)
	if p.Result != nil {
		for _, sr := range p.Result.Steps {
			if sr.Step >= 0 && sr.Step < len(d.Steps) {
				d.Steps[sr.Step].Status, d.Steps[sr.Step].Detail = sr.Status, sr.Detail
				if sr.Status == plans.StepDone && sr.Pool != "" && p.Steps[sr.Step].Op == plans.OpMove {
					d.Steps[sr.Step].Detail = l.T("plan.moving_to", sr.Pool)
				}
			}
		}
	}
	d.Back, d.BackText = "/admin/integrity", l.T("plan.back_integrity")
	if p.Action != plans.ActionRepair {
		kind := model.KindServer
		for _, c := range p.Preconditions {
			if c.PoolID != 0 {
				if pool, err := w.rd.PoolGet(r.Context(), c.PoolID); err == nil {
					kind = pool.Kind
					if p.Action == plans.ActionDrain && p.State == plans.StateApplied {
						d.Follow = "/admin/" + string(kind) + "s/" + strconv.FormatInt(pool.ID, 10) + "/drain"
					}
				}
				break
			}
		}
		d.Back, d.BackText = "/admin/"+string(kind)+"s", l.T(fmt.Sprintf("drain.back_%s", kind))
	}
	pg := w.newPage(r, "plan.title", d)
	pg.Flash = fl
	if d.Rebalance != nil && d.Rebalance.CanStop {
		pg.Refresh = rebalanceRefresh // its paced moves' progress
	}
	w.write(rw, r, http.StatusOK, "plan", pg)
}

// planStepText says a step in l.
func planStepText(l lang, st plans.Step) string {
	switch st.Op {
	case plans.OpPoolStatus:
		return l.T("plan.step.pool_status", st.Pool, l.Word("status", st.From), l.Word("status", st.To))
	case plans.OpMove:
		if st.To == "" {
			return l.T("plan.step.move_queued", st.Member, st.Pool)
		}
		return l.T("plan.step.move", st.Member, st.Pool, st.To)
	case plans.OpRelease:
		return l.T("plan.step.release", st.Member, st.SeatID, st.Pool, st.KeepSeatID)
	case plans.OpPacedMove:
		return l.T("plan.step.move_paced", st.Member, st.Pool, st.To)
	}
	return st.Op
}

// planPreText says a precondition in l.
func planPreText(l lang, c plans.Precondition) string {
	switch c.Kind {
	case plans.PrePoolStatus:
		return l.T("plan.pre.pool_status", c.Pool, l.Word("status", c.Status))
	case plans.PrePoolRoom:
		return l.T("plan.pre.pool_room", c.Pool, c.Free)
	case plans.PreSeat:
		return l.T("plan.pre.seat", c.Member, c.SeatID, c.Pool)
	case plans.PreMemberSeats:
		ids := make([]string, len(c.Seats))
		for i, id := range c.Seats {
			ids[i] = "#" + strconv.FormatInt(id, 10)
		}
		return l.T("plan.pre.member_seats", c.Member, strings.Join(ids, ", "))
	}
	return c.Kind
}

// planApply applies a plan and shows its page again: what each step did,
// or what changed since the plan was made.
func (w *Web) planApply(rw http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		w.notFound(rw, r)
		return
	}
	n := httpx.NoteOf(r)
	n.Target = "plan=" + strconv.FormatInt(id, 10)
	p, err := w.plans.Apply(r.Context(), id, actor(r))
	l := w.lang(r)
	page := "/admin/plans/" + strconv.FormatInt(id, 10)
	var ce *plans.ChangedError
	switch {
	case errors.As(err, &ce):
		w.done(rw, r, page, nil, &result{Flash: []flash{{"error", l.T("plan.changed", strings.Join(ce.Changes, "; "))}}})
	case errors.Is(err, alloc.ErrExpired):
		w.done(rw, r, page, nil, &result{Flash: []flash{{"error", l.T("plan.expired")}}})
	case errors.Is(err, alloc.ErrChanged):
		w.done(rw, r, page, nil, &result{Flash: []flash{{"error", l.T("plan.applied_already")}}})
	case err != nil && p.Result == nil:
		w.fail(rw, r, err)
	default:
		res := p.Result
		fl := flash{"ok", l.T("plan.applied", res.Done, res.Queued, res.Failed)}
		if res.Scheduled > 0 { // a rebalance: its moves run later
			fl.Text += " " + l.T("plan.rebalance.scheduled", res.Scheduled)
		}
		if res.Failed > 0 || err != nil {
			fl.Kind = "warn"
		}
		w.done(rw, r, page, nil, &result{Flash: []flash{fl}})
	}
}
