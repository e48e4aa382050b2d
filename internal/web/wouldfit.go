package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// What would fit on the queue page (issue 14 §1; docs/design.md, "What
// would fit"): each entry's single changes that would place it now, in the
// reader's language, and a what-if form. The form is a GET on the queue
// page: the what-if changes nothing, so a viewer may ask and the answer is
// just another view of the page.

// queueRow is a queue entry with what would place it now.
type queueRow struct {
	model.QueueEntry
	WouldFit []model.FitChange
}

// simForm is the what-if form as the reader filled it in, and its answer.
type simForm struct {
	Asked    bool
	Pool     string
	Capacity string
	Status   string
	AddKind  string
	AddCount string
	AddCap   string
	Labels   string
	// Error is what was wrong with the form, in the reader's language;
	// Result the answer when there was none.
	Error  string
	Result *alloc.SimResult
	// ByPool is Result.ByPool in name order, for the page.
	ByPool []simPool
}

type simPool struct {
	Name string
	N    int
}

// Fit words one would-fit change in the page's language.
func (p *page) Fit(c model.FitChange) string { return p.L.Fit(c) }

// Fit words c in l, from its machine fields; its English text stands in
// for a field berth does not know.
func (l lang) Fit(c model.FitChange) string {
	switch c.Field {
	case model.FitCapacity:
		return l.T("queue.fit_capacity", c.Pool, c.From, c.To)
	case model.FitStatus:
		return l.T("queue.fit_status", c.Pool, l.Word("status", c.From), l.Word("status", c.To))
	case model.FitExclusion:
		return l.T("queue.fit_exclusion", c.Pool)
	case model.FitAddPool:
		if len(c.Labels) == 0 {
			return l.T("queue.fit_add." + kindKey(c.Kind))
		}
		return l.T("queue.fit_add_labels."+kindKey(c.Kind), strings.Join(labelPairs(c.Labels), ", "))
	}
	return c.Change
}

// queueWouldFit pairs entries with what would place each now. A failure
// to compute it leaves the lists empty (the page still shows the queue).
func (w *Web) queueWouldFit(r *http.Request, items []model.QueueEntry) []queueRow {
	rows := make([]queueRow, len(items))
	fits, err := w.svc.QueueWouldFit(r.Context(), items)
	if err != nil {
		w.log.Warn("web: what would fit the queue", "err", err, "request_id", requestID(r))
	}
	for i, e := range items {
		rows[i].QueueEntry = e
		if err == nil {
			rows[i].WouldFit = fits[i]
		}
	}
	return rows
}

// simulate reads the what-if form from the query (sim=1) and answers it.
func (w *Web) simulate(r *http.Request) *simForm {
	q := r.URL.Query()
	f := &simForm{AddKind: string(model.KindServer)}
	if q.Get("sim") == "" {
		return f
	}
	l := w.lang(r)
	f.Asked = true
	f.Pool, f.Capacity, f.Status = strings.TrimSpace(q.Get("sim_pool")), strings.TrimSpace(q.Get("sim_capacity")), q.Get("sim_status")
	f.AddKind, f.AddCount, f.AddCap, f.Labels = q.Get("sim_kind"), strings.TrimSpace(q.Get("sim_count")), strings.TrimSpace(q.Get("sim_cap")), q.Get("sim_labels")
	var changes []alloc.SimChange
	if f.Pool != "" {
		c := alloc.SimChange{Pool: f.Pool}
		if f.Capacity != "" {
			n, err := strconv.Atoi(f.Capacity)
			if err != nil || n < 0 {
				f.Error = l.T("queue.sim_bad_number", f.Capacity)
				return f
			}
			c.Capacity = &n
		}
		if f.Status != "" {
			st := model.PoolStatus(f.Status)
			if !st.Valid() {
				f.Error = l.T("queue.sim_bad_status", f.Status)
				return f
			}
			c.Status = &st
		}
		if c.Capacity == nil && c.Status == nil {
			f.Error = l.T("queue.sim_pool_nothing", f.Pool)
			return f
		}
		if _, err := w.rd.PoolGetByName(r.Context(), f.Pool); errors.Is(err, store.ErrNotFound) {
			f.Error = l.T("queue.sim_no_pool", f.Pool)
			return f
		}
		changes = append(changes, c)
	}
	if f.AddCount != "" && f.AddCount != "0" {
		count, err1 := strconv.Atoi(f.AddCount)
		capacity, err2 := strconv.Atoi(f.AddCap)
		if err1 != nil || err2 != nil || count < 1 || capacity < 1 {
			f.Error = l.T("queue.sim_bad_add")
			return f
		}
		kind := model.Kind(f.AddKind)
		if !kind.Valid() {
			kind = model.KindServer
		}
		labels, bad, ok := labelItems(strings.Split(f.Labels, ","))
		if !ok {
			f.Error = l.T("queue.sim_bad_label", bad)
			return f
		}
		changes = append(changes, alloc.SimChange{Add: &alloc.SimAdd{Kind: kind, Count: count, Capacity: capacity, Labels: labels}})
	}
	res, err := w.svc.Simulate(r.Context(), changes)
	if err != nil {
		_, f.Error = w.describe(r, err)
		return f
	}
	f.Result = &res
	for name, n := range res.ByPool {
		f.ByPool = append(f.ByPool, simPool{name, n})
	}
	slices.SortFunc(f.ByPool, func(a, b simPool) int { return strings.Compare(a.Name, b.Name) })
	return f
}

// Statuses lists the pool statuses for the what-if form.
func (f *simForm) Statuses() []string {
	var out []string
	for _, s := range model.PoolStatuses() {
		out = append(out, string(s))
	}
	return out
}

// fitCatalogue holds the words of what would fit, merged into catalogue.
var fitCatalogue = map[string][2]string{
	"queue.would_fit":             {"What would place it now", "怎样能马上分配"},
	"queue.fit_now":               {"room now: the next drain places it", "现在就有空位：下一次分配即可"},
	"queue.fit_capacity":          {"%s: capacity %s → %s", "%s：容量 %s → %s"},
	"queue.fit_status":            {"%s: status %s → %s", "%s：状态 %s → %s"},
	"queue.fit_exclusion":         {"%s: lift the exclusion", "%s：解除排除"},
	"queue.fit_add.server":        {"add a server", "新增一台服务器"},
	"queue.fit_add.team":          {"add a team", "新增一个团队"},
	"queue.fit_add_labels.server": {"add a server with labels {%s}", "新增一台标签为 {%s} 的服务器"},
	"queue.fit_add_labels.team":   {"add a team with labels {%s}", "新增一个标签为 {%s} 的团队"},
	"queue.sim_title":             {"What if", "假如"},
	"queue.sim_intro":             {"Place today's queue under changes you try; nothing is changed.", "用你假设的变更把当前排队重新分配一遍；不会改动任何东西。"},
	"queue.sim_pool":              {"Pool to change", "要改的位置"},
	"queue.sim_capacity":          {"Its capacity", "它的容量"},
	"queue.sim_status":            {"Its status", "它的状态"},
	"queue.sim_unchanged":         {"as it is", "不变"},
	"queue.sim_add":               {"New pools", "新增位置"},
	"queue.sim_kind":              {"Kind", "类型"},
	"queue.sim_count":             {"How many", "数量"},
	"queue.sim_cap":               {"Capacity of each", "每个的容量"},
	"queue.sim_labels":            {"Labels (key=value, comma-separated)", "标签（键=值，用逗号分隔）"},
	"queue.sim_run":               {"Simulate", "模拟"},
	"queue.sim_result":            {"%d of %d would be placed, %d would still wait.", "%[2]d 个排队中有 %[1]d 个会被分配，%[3]d 个仍需等待。"},
	"queue.sim_where":             {"Where they would go", "会分配到哪里"},
	"queue.sim_bad_number":        {"The capacity %q is not a whole number of 0 or more.", "容量 %q 不是大于等于 0 的整数。"},
	"queue.sim_bad_status":        {"%q is not a pool status.", "%q 不是有效的状态。"},
	"queue.sim_pool_nothing":      {"Say the capacity or status %s should have.", "请填写 %s 的容量或状态。"},
	"queue.sim_no_pool":           {"No pool is named %q.", "没有名为 %q 的位置。"},
	"queue.sim_bad_add":           {"New pools need a count and a capacity of at least 1.", "新增位置需要至少 1 个，容量至少为 1。"},
	"queue.sim_bad_label":         {"%q is not key=value.", "%q 不是 键=值 的形式。"},
}

func init() { addWords(fitCatalogue) }
