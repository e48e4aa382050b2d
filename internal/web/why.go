package web

import (
	"fmt"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/model"
)

// Why tells a placement's reason (model.Why) in the page's language; text,
// the stored English sentence, stands in for rows written before berth kept
// the reason as data (and for reasons that are not a placement's).
// Templates call it as {{$.Why .Why .Reason}}.
func (p *page) Why(w *model.Why, text string) string { return p.L.Why(w, text) }

// Why words w in l; text when w is nil.
func (l lang) Why(w *model.Why, text string) string {
	if w == nil {
		return text
	}
	var b strings.Builder
	if w.Contended > 0 {
		b.WriteString(l.T("why.contended", w.Contended))
	}
	if w.Placed() {
		b.WriteString(l.whyChoice(w))
		b.WriteString(" — ")
	}
	b.WriteString(l.whyCounts(w))
	if !w.ExcludedUntil.IsZero() {
		b.WriteString(l.T("why.excluded_until", w.ExcludedUntil.UTC().Format("2006-01-02 15:04 UTC")))
	}
	if w.Removing != "" {
		b.WriteString(l.T("why.removing", w.Removing))
	}
	return b.String()
}

// whyChoice words the chosen pool and the rule, e.g.
// "worker-01 (holds script A, 3/5 used; affinity pack)".
func (l lang) whyChoice(w *model.Why) string {
	key := l.T("why.key."+kindKey(w.Kind), w.AffinityKey)
	var b strings.Builder
	b.WriteString(w.Pool)
	b.WriteString(l.T("why.open"))
	if w.Rule == model.RuleAffinity {
		b.WriteString(l.T("why.holds", key))
	}
	b.WriteString(l.T("why.used", w.Used, w.Capacity))
	if w.Health > 0 {
		b.WriteString(l.T("why.health", fmt.Sprintf("%.2f", w.Health)))
	}
	switch w.Rule {
	case model.RuleMostFreeNewKey:
		b.WriteString(l.T("why.rule.most_free_new_key", key))
	case model.RuleAffinity, model.RuleMostFree, model.RuleLeastLoaded:
		b.WriteString(l.T("why.rule." + w.Rule))
	default:
		b.WriteString(w.Rule)
	}
	b.WriteString(l.T("why.close"))
	return b.String()
}

// whyCounts words the pools and what kept them out, e.g.
// "3 servers: 1 offline, 2 full" / "共 3 台服务器：1 台离线，2 台已满".
func (l lang) whyCounts(w *model.Why) string {
	k := kindKey(w.Kind)
	if w.Considered == 0 {
		return l.T("why.none." + k)
	}
	n := "why.pools." + k
	if w.Considered == 1 {
		n = "why.pool." + k
	}
	var parts []string
	for _, c := range model.WhyCauses() {
		if v := w.Filtered[c]; v > 0 {
			parts = append(parts, l.T("why.count."+k, v, l.T("why.cause."+c)))
		}
	}
	// Unknown statuses are their own cause: last, sorted, as they are.
	var extra []string
	for c, v := range w.Filtered {
		if v > 0 && !slices.Contains(model.WhyCauses(), c) {
			extra = append(extra, l.T("why.count."+k, v, c))
		}
	}
	slices.Sort(extra)
	parts = append(parts, extra...)
	list := l.T("why.all_eligible")
	if len(parts) > 0 {
		list = strings.Join(parts, l.T("why.sep"))
	}
	s := l.T(n, w.Considered) + l.T("why.colon") + list
	if w.Degraded > 0 {
		s += l.T("why.degraded", w.Degraded)
	}
	return s
}

// kindKey is the catalogue's name of a kind; servers for an unknown one.
func kindKey(k model.Kind) string {
	if k == model.KindTeam {
		return "team"
	}
	return "server"
}

// whyCatalogue holds the words of placement reasons, merged into catalogue.
var whyCatalogue = map[string][2]string{
	"ustatus.why":                  {"Why you wait", "等待原因"},
	"why.cause.paused":             {"paused", "已暂停"},
	"why.cause.draining":           {"draining", "清空中"},
	"why.cause.banned":             {"banned", "已封禁"},
	"why.cause.credential_invalid": {"credential invalid", "凭据失效"},
	"why.cause.offline":            {"offline", "离线"},
	"why.cause.full":               {"full", "已满"},
	"why.cause.label_mismatch":     {"without the labels asked for", "标签不符"},
	"why.cause.group_mismatch":     {"of another group", "分组不符"},
	"why.cause.excluded":           {"excluded", "已排除"},
	"why.pools.server":             {"%d servers", "共 %d 台服务器"},
	"why.pools.team":               {"%d teams", "共 %d 个团队"},
	"why.pool.server":              {"%d server", "共 %d 台服务器"},
	"why.pool.team":                {"%d team", "共 %d 个团队"},
	"why.none.server":              {"no servers", "没有服务器"},
	"why.none.team":                {"no teams", "没有团队"},
	"why.count.server":             {"%d %s", "%d 台%s"},
	"why.count.team":               {"%d %s", "%d 个%s"},
	"why.colon":                    {": ", "："},
	"why.sep":                      {", ", "，"},
	"why.all_eligible":             {"none filtered", "均可用"},
	"why.open":                     {" (", "（"},
	"why.close":                    {")", "）"},
	"why.holds":                    {"holds %s, ", "已有%s，"},
	"why.used":                     {"%d/%d used; ", "已用 %d/%d；"},
	"why.key.server":               {"script %s", "脚本 %s"},
	"why.key.team":                 {"key %s", "键 %s"},
	"why.rule.affinity":            {"affinity pack", "同类集中"},
	"why.rule.most_free":           {"most free room", "空位最多"},
	"why.rule.most_free_new_key":   {"most free room, new %s", "空位最多，新%s"},
	"why.rule.least_loaded":        {"least loaded", "负载最低"},
	"why.contended":                {"the database refused %d pools in a row (other replicas placing): ", "数据库连续拒绝了 %d 个候选（其他副本正在分配）："},
	"why.excluded_until":           {" (a pool that refused the member is excluded until %s)", "（拒绝过它的位置排除至 %s）"},
	"why.removing":                 {"; waiting for the removal from %s to finish: placed as soon as it does", "；正在等待从 %s 移出完成，完成后即安排座位"},
}

func init() { addWords(whyCatalogue) }
