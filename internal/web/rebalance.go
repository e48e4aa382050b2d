package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/plans"
	"github.com/berthhq/berth/internal/httpx"
)

// The rebalancer from the pools page (docs/design.md, "Rebalancing"): the
// form plans a rebalance of the kind's pools (of a group, or those without
// one) and shows the plan, with the imbalance before and after; applying
// it schedules the moves, which the rebalance_step job runs a few a minute.

func init() { addWords(rebalanceCatalogue) }

// rebalanceRefresh is how often, in seconds, a plan page with scheduled
// moves reloads itself (the rebalance_step job runs once a minute).
const rebalanceRefresh = 20

var rebalanceCatalogue = map[string][2]string{
	"pools.rebalance.heading": {"Rebalance", "再平衡"},
	"pools.rebalance.help": {"Plans the moves that bring these pools closest to the strategy's ideal, within the budget; members who moved in the last 24 hours stay. The moves are free for the users and run a few a minute once applied.",
		"规划在预算内使这些池最接近策略理想状态的迁移；24 小时内迁移过的成员不动。迁移对用户免费，应用后每分钟执行少量。"},
	"pools.rebalance.strategy":  {"Strategy", "策略"},
	"pools.rebalance.spread":    {"spread: even the load", "分散：均衡负载"},
	"pools.rebalance.pack":      {"pack: empty the least filled pools", "集中：清空最空的池"},
	"pools.rebalance.max_moves": {"At most this many moves", "最多迁移次数"},
	"pools.rebalance.group":     {"Group (empty: pools without a group)", "分组（留空：无分组的池）"},
	"pools.rebalance.button":    {"Review plan", "查看计划"},
	"pools.rebalance.bad_max":   {"Give the most moves as a whole number from 1 to %d.", "最多迁移次数须为 1 到 %d 的整数。"},
	"plan.step.move_paced":      {"Move %s off %s to %s (paced)", "将 %s 从 %s 迁到 %s（限速）"},
	"plan.status.scheduled":     {"scheduled", "已排期"},
	"plan.rebalance.summary":    {"%s: %d move(s); %d member(s) moved recently stay.", "%s：%d 次迁移；%d 个近期迁移过的成员不动。"},
	"plan.rebalance.before":     {"Before", "之前"},
	"plan.rebalance.after":      {"After the moves", "迁移之后"},
	"plan.rebalance.imbalance": {"%d pools: %d in use, %d partly filled; utilization mean %s, standard deviation %s, range %s",
		"%d 个池：%d 个在用，%d 个部分占用；利用率均值 %s，标准差 %s，极差 %s"},
	"plan.rebalance.stop":            {"Stop the scheduled moves", "停止已排期的迁移"},
	"plan.rebalance.stop_help":       {"The moves already made stay; the others are not made.", "已完成的迁移保留；其余的不再执行。"},
	"plan.rebalance.stopped":         {"Stopped: %d scheduled move(s) will not be made.", "已停止：%d 次已排期的迁移不再执行。"},
	"plan.rebalance.nothing_to_stop": {"This plan has no scheduled moves left to stop.", "此计划已没有可停止的已排期迁移。"},
	"plan.status.cancelled":          {"stopped", "已停止"},
	"plan.rebalance.scheduled": {"%d move(s) scheduled: they run a few a minute; this page shows their progress and reloads itself until none is left.",
		"已排期 %d 次迁移：每分钟执行少量；本页显示进度，并自动刷新直到全部完成。"},
}

// planRebalance plans a rebalance of kind's pools from the pools page's
// form.
func (w *Web) planRebalance(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !w.parseForm(rw, r) {
			return
		}
		l := w.lang(r)
		show := func(f flash) { w.renderPools(rw, r, kind, nil, f) }
		maxMoves, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("max_moves")))
		if err != nil || maxMoves < 1 || maxMoves > plans.MaxSteps {
			show(flash{"error", l.T("pools.rebalance.bad_max", plans.MaxSteps)})
			return
		}
		params := map[string]any{"kind": kind, "max_moves": maxMoves, "strategy": r.PostForm.Get("strategy")}
		if g := strings.TrimSpace(r.PostForm.Get("group")); g != "" {
			params["group"] = g
		}
		w.makePlan(rw, r, plans.ActionRebalance, params, show)
	}
}

// planCancel stops a plan's scheduled moves (the Stop button of a
// rebalance plan's page) and shows the page again.
func (w *Web) planCancel(rw http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		w.notFound(rw, r)
		return
	}
	httpx.NoteOf(r).Target = "plan=" + strconv.FormatInt(id, 10) + " cancel"
	l := w.lang(r)
	page := "/admin/plans/" + strconv.FormatInt(id, 10)
	p, err := w.plans.CancelPaced(r.Context(), id, actor(r))
	switch {
	case errors.Is(err, alloc.ErrChanged):
		w.done(rw, r, page, nil, &result{Flash: []flash{{"error", l.T("plan.rebalance.nothing_to_stop")}}})
	case err != nil:
		w.fail(rw, r, err)
	default:
		w.done(rw, r, page, nil, &result{Flash: []flash{{"ok", l.T("plan.rebalance.stopped", p.Result.Cancelled)}}})
	}
}

// rebalanceView is a rebalance plan's summary as its page says it.
type rebalanceView struct {
	Summary, Before, After, Scheduled string
	// CanStop: moves are scheduled (the Stop button); the page then
	// reloads itself every Refresh seconds.
	CanStop bool
	Refresh int
}

// rebalanceSummary says a rebalance plan's summary in l; nil for other
// plans.
func rebalanceSummary(l lang, p plans.Plan) *rebalanceView {
	if p.Action != plans.ActionRebalance || len(p.Summary) == 0 {
		return nil
	}
	var s plans.RebalanceSummary
	if json.Unmarshal(p.Summary, &s) != nil {
		return nil
	}
	pct := func(x float64) string { return fmt.Sprintf("%.1f%%", x*100) }
	v := &rebalanceView{
		Summary: l.T("plan.rebalance.summary", l.T("pools.rebalance."+s.Strategy), s.Moves, s.Pinned),
		Before: l.T("plan.rebalance.imbalance", s.Before.Pools, s.Before.InUse, s.Before.Partial, pct(s.Before.UtilizationMean),
			pct(s.Before.UtilizationStddev), pct(s.Before.UtilizationRange)),
		After: l.T("plan.rebalance.imbalance", s.After.Pools, s.After.InUse, s.After.Partial, pct(s.After.UtilizationMean),
			pct(s.After.UtilizationStddev), pct(s.After.UtilizationRange)),
	}
	if p.Result != nil && p.Result.Scheduled > 0 {
		v.Scheduled = l.T("plan.rebalance.scheduled", p.Result.Scheduled)
		v.CanStop, v.Refresh = true, rebalanceRefresh
	}
	return v
}
