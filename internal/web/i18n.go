package web

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// lang is a language of the console: its BCP 47 tag, as used in <html lang>.
type lang string

const (
	en lang = "en"
	zh lang = "zh-CN"
)

// langCookie remembers the language picked with the switch.
const langCookie = "berth_lang"

// parseLang maps a tag to a supported language (English by default).
func parseLang(tag string) lang {
	t := strings.ToLower(strings.TrimSpace(tag))
	if t == "zh" || strings.HasPrefix(t, "zh-") || strings.HasPrefix(t, "zh_") {
		return zh
	}
	return en
}

// fromAcceptLanguage picks the best supported language from an
// Accept-Language header: the highest-weighted tag that is Chinese or
// English; English when none is.
func fromAcceptLanguage(h string) lang {
	type cand struct {
		l lang
		q float64
		i int
	}
	var cs []cand
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q <= 0 {
			continue
		}
		switch {
		case tag == "zh" || strings.HasPrefix(tag, "zh-"):
			cs = append(cs, cand{zh, q, i})
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			cs = append(cs, cand{en, q, i})
		}
	}
	if len(cs) == 0 {
		return en
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].q > cs[b].q })
	return cs[0].l
}

// lang is the request's language: the switch's cookie, else the
// browser's Accept-Language.
func (w *Web) lang(r *http.Request) lang {
	if c, err := r.Cookie(langCookie); err == nil && c.Value != "" {
		return parseLang(c.Value)
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

func (l lang) idx() int {
	if l == zh {
		return 1
	}
	return 0
}

// T translates key, formatting args into it (fmt verbs). A missing key
// shows as the key itself, which the catalogue test catches.
func (l lang) T(key string, args ...any) string {
	m, ok := catalogue[key]
	if !ok {
		return key
	}
	s := m[l.idx()]
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Word translates an enumerated value of a group ("status", "state", …),
// falling back to the value itself for values the catalogue lacks.
func (l lang) Word(group string, v any) string {
	s := fmt.Sprint(v)
	if m, ok := catalogue[group+"."+s]; ok {
		return m[l.idx()]
	}
	return s
}

// addWords merges a page's own words into catalogue (from its file's
// init). A key written twice would silently shadow the other, which the
// single map literal's compiler check cannot catch across files: it panics.
func addWords(words map[string][2]string) {
	for k, v := range words {
		if _, dup := catalogue[k]; dup {
			panic("web: catalogue key " + k + " is written twice")
		}
		catalogue[k] = v
	}
}

// catalogue holds every user-visible string: {English, Simplified Chinese}.
var catalogue = map[string][2]string{
	// chrome
	"a11y.skip":     {"Skip to content", "跳到正文"},
	"brand.console": {"console", "控制台"},
	"lang.switch":   {"中文", "English"},
	"nav.label":     {"Main", "主导航"},
	"nav.signout":   {"Sign out", "退出登录"},
	"nav.dashboard": {"Dashboard", "概览"},
	"nav.servers":   {"Servers", "服务器"},
	"nav.accounts":  {"Accounts", "账号"},
	"nav.teams":     {"Teams", "团队"},
	"nav.seats":     {"Seats", "座位"},
	"nav.codes":     {"Codes", "兑换码"},
	"nav.queue":     {"Queue", "排队"},
	"nav.history":   {"Moves & history", "换车与历史"},
	"nav.audit":     {"Audit log", "审计日志"},
	"nav.integrity": {"Integrity", "一致性检查"},
	"nav.users":     {"Users", "用户"},
	"nav.redeem":    {"Redeem a code", "兑换"},
	"nav.status":    {"My seat", "我的座位"},
	"footer.admin":  {"berth console · times are UTC", "berth 控制台 · 时间均为 UTC"},
	"footer.staff":  {"Staff sign-in", "管理员登录"},

	"common.actions":   {"Actions", "操作"},
	"common.all":       {"All", "全部"},
	"common.cancel":    {"Cancel", "取消"},
	"common.close":     {"Close", "关闭"},
	"common.filter":    {"Filter", "筛选"},
	"common.search":    {"Search", "搜索"},
	"common.reset":     {"Clear", "清除"},
	"common.loading":   {"Loading…", "加载中…"},
	"common.next_page": {"Next page", "下一页"},
	"common.yes":       {"yes", "是"},
	"common.no":        {"no", "否"},

	"kind.server.one":    {"server", "服务器"},
	"kind.team.one":      {"team", "团队"},
	"kind.server.plural": {"servers", "服务器"},
	"kind.team.plural":   {"teams", "团队"},

	// errors
	"err.title":            {"Something went wrong", "出错了"},
	"err.back_admin":       {"Back to the dashboard", "返回概览"},
	"err.back_public":      {"Back to the redeem page", "返回兑换页面"},
	"err.internal":         {"Something went wrong on our side. Please try again; if it keeps happening, give the administrator this reference: %s.", "服务器出了点问题，请重试；如果一直出现，请把这个编号告诉管理员：%s。"},
	"err.cross_origin":     {"This request came from another site and was refused. Open berth directly and try again.", "这个请求来自其他网站，已被拒绝。请直接打开 berth 再试一次。"},
	"err.page_not_found":   {"There is no page at this address.", "这个地址没有页面。"},
	"err.wrong_method":     {"This page does not take this kind of request.", "此页面不接受这种请求。"},
	"err.form":             {"The form could not be read. Reload the page and try again.", "无法读取表单，请刷新页面后重试。"},
	"err.role":             {"Your role (%s) cannot do this; it needs %s. Ask an administrator.", "你的角色（%s）无权执行此操作，需要%s权限。请联系管理员。"},
	"err.too_many":         {"Too many requests from your address. Wait a minute and try again.", "来自你的地址的请求太多，请稍等一分钟再试。"},
	"err.rate":             {"Too many move requests for this code. Try again in %d seconds.", "这个兑换码的换车请求太频繁，请在 %d 秒后重试。"},
	"err.limit":            {"You have used all your moves (%d of %d). A move is free only when your team is unavailable.", "换车次数已用完（%d / %d）。只有当你的团队不可用时，换车才免费。"},
	"err.code_not_valid":   {"This code cannot be used with this email. Check both and try again.", "这个兑换码不能用于这个邮箱，请检查后重试。"},
	"err.code_disabled":    {"This code has been disabled. Ask whoever gave it to you.", "这个兑换码已停用，请联系提供兑换码的人。"},
	"err.code_expired":     {"This code has expired.", "这个兑换码已过期。"},
	"err.code_used_up":     {"This code has no uses left.", "这个兑换码的使用次数已用完。"},
	"err.move_in_progress": {"A move of this seat is already in progress.", "这个座位已经在换车中。"},
	"err.no_seat":          {"There is no seat for this email and code yet: redeem the code first.", "这个邮箱和兑换码还没有座位：请先兑换。"},
	"err.invalid":          {"Please check what you entered: %s.", "请检查输入内容：%s。"},
	"err.not_found":        {"That was not found; it may have been removed or changed meanwhile.", "没有找到，可能已被删除或更改。"},
	"err.conflict":         {"That already exists.", "已经存在。"},

	// sign-in
	"login.title":        {"Sign in", "登录"},
	"login.username":     {"User name", "用户名"},
	"login.password":     {"Password", "密码"},
	"login.submit":       {"Sign in", "登录"},
	"login.missing":      {"Enter your user name and password.", "请输入用户名和密码。"},
	"login.failed":       {"Wrong user name or password, or too many attempts. Try again later.", "用户名或密码错误，或尝试次数过多，请稍后再试。"},
	"login.rate":         {"Too many sign-in attempts. Try again in %d seconds.", "登录尝试次数过多，请在 %d 秒后重试。"},
	"login.wait_minutes": {"Too many failed sign-ins from this address. Try again in about %d minutes, or ask an administrator.", "此地址登录失败次数过多。请约 %d 分钟后重试，或联系管理员。"},
	"login.unavailable":  {"Sign-in is not available on this server.", "此服务器未开启登录。"},

	// public pages
	"public.email":     {"Email", "邮箱"},
	"public.code":      {"Redeem code", "兑换码"},
	"public.code_help": {"Upper or lower case, with or without dashes.", "大小写均可，带不带短横线都可以。"},
	"public.missing":   {"Enter your email and your code.", "请输入邮箱和兑换码。"},

	"redeem.title":        {"Redeem a code", "兑换座位"},
	"redeem.lead":         {"Enter your email and the code you were given to get a seat in a team.", "输入你的邮箱和收到的兑换码，即可获得团队座位。"},
	"redeem.submit":       {"Redeem", "兑换"},
	"redeem.done":         {"Your code is redeemed.", "兑换成功。"},
	"redeem.done_queued":  {"Your code is redeemed. All teams are full right now: you are number %d in the queue and will get a seat as soon as one is free.", "兑换成功。目前所有团队都已满：你排在第 %d 位，有空位时会自动为你分配。"},
	"redeem.wait_removal": {"Your code is redeemed. %s is still removing you from your last seat: you are number %d in the queue and will get a seat as soon as that is done.", "兑换成功。%s 仍在移出你之前的座位：你排在第 %d 位，移出完成后会立即为你分配座位。"},
	"redeem.another":      {"Redeem another code", "兑换另一个兑换码"},
	"redeem.have_seat":    {"Already redeemed?", "已经兑换过？"},
	"redeem.check_status": {"See your seat", "查看我的座位"},

	"status.title":       {"My seat", "我的座位"},
	"status.lead":        {"Enter the email and code you redeemed with to see your seat.", "输入兑换时使用的邮箱和兑换码，查看你的座位。"},
	"status.submit":      {"Show my seat", "查看座位"},
	"status.other":       {"Look up another seat", "查询其他座位"},
	"status.no_seat":     {"No seat yet?", "还没有座位？"},
	"status.redeem_link": {"Redeem a code", "去兑换"},

	"ustatus.heading":          {"Your seat", "你的座位"},
	"ustatus.state":            {"State", "状态"},
	"ustatus.team":             {"Team", "团队"},
	"ustatus.position":         {"Place in the queue", "排队位置"},
	"ustatus.expires":          {"Expires", "到期时间"},
	"ustatus.never":            {"never", "永不过期"},
	"ustatus.moves":            {"Moves", "换车次数"},
	"ustatus.moves_value":      {"%d of %d used, %d left", "已用 %d / %d 次，剩余 %d 次"},
	"ustatus.moving":           {"A move to another team is in progress. You keep your current seat until the new one is ready.", "正在为你换到另一个团队。新座位就绪前，你仍保留当前座位。"},
	"ustatus.move_free":        {"Your team is unavailable right now, so moving to another team is free: it does not use up one of your moves.", "你的团队目前不可用，所以这次换车免费，不占用换车次数。"},
	"ustatus.move_paid":        {"Moving to another team uses one of your moves (%d left). It is free only when your team is unavailable.", "换到另一个团队会占用一次换车次数（剩余 %d 次）。只有当团队不可用时才免费。"},
	"ustatus.move_button_free": {"Move to another team (free)", "换到另一个团队（免费）"},
	"ustatus.move_button_paid": {"Move to another team", "换到另一个团队"},
	"ustatus.last_move":        {"Last move", "上次换车"},
	"ustatus.last_move_value":  {"to %s from %s, %s", "%[3]s 从 %[2]s 换到 %[1]s"},
	"ustatus.last_move_line":   {"%s: %s; %s.", "%s：%s；%s。"},
	"ustatus.last_move_paid":   {"used one of your moves", "占用一次换车次数"},
	"ustatus.last_move_free":   {"free: did not use one of your moves", "免费，未占用换车次数"},
	"mcause.paid":              {"you asked to move", "你申请了换车"},
	"mcause.free":              {"you asked to leave a team that was unavailable", "你申请离开不可用的团队"},
	"mcause.operator":          {"an operator moved your seat", "管理员转移了你的座位"},
	"mcause.drain":             {"your old team was being emptied", "原团队正在清空"},
	"mcause.migration":         {"an operator moved everyone off your old team", "管理员将所有成员迁出原团队"},
	"mcause.rebalance":         {"the teams were rebalanced", "各团队负载重新平衡"},
	"mcause.plan":              {"an operator's planned change", "管理员计划的调整"},
	"mcause.other":             {"started by the service", "由系统发起"},

	"move.free":    {"free", "免费"},
	"move.paid":    {"move %d of %d", "第 %d / %d 次换车"},
	"move.placed":  {"Moving you to %s (%s). You stay in your current team until the new seat is ready.", "正在为你换到 %s（%s）。新座位就绪前，你仍留在当前团队。"},
	"move.queued":  {"No other team has room right now. You are number %d in line to move (%s) and keep your current seat meanwhile.", "目前没有其他团队有空位。你在换车队列中排第 %d 位（%s），期间保留当前座位。"},
	"move.already": {"A move is already in progress; nothing was charged.", "已经在换车中，本次未扣次数。"},
	"move.waiting": {"You are waiting for a seat (number %d in the queue); there is nothing to move yet.", "你正在排队等待座位（第 %d 位），暂时无需换车。"},
	"move.done":    {"Your move request was accepted.", "换车请求已受理。"},

	"ustate.unused":   {"not used yet", "未使用"},
	"ustate.pending":  {"being set up", "正在开通"},
	"ustate.active":   {"ready", "可用"},
	"ustate.queued":   {"waiting in the queue", "排队中"},
	"ustate.expired":  {"expired", "已过期"},
	"ustate.released": {"ended", "已结束"},
	"ustate.removing": {"being removed", "正在移出"},

	// roles and enumerations
	"role.viewer":   {"viewer", "只读"},
	"role.operator": {"operator", "操作员"},
	"role.admin":    {"administrator", "管理员"},

	"status.active":             {"active", "运行中"},
	"status.paused":             {"paused", "已暂停"},
	"status.draining":           {"draining", "清空中"},
	"status.banned":             {"banned", "已封禁"},
	"status.credential_invalid": {"credential invalid", "凭据失效"},
	"status.offline":            {"offline", "离线"},

	"state.reserved":       {"reserved", "已预留"},
	"state.provisioning":   {"provisioning", "开通中"},
	"state.active":         {"active", "正常"},
	"state.releasing":      {"releasing", "释放中"},
	"state.released":       {"released", "已释放"},
	"state.failed":         {"failed", "失败"},
	"state.release_failed": {"release failed", "释放失败"},
	"state.pending":        {"pending", "待处理"},
	"state.queued":         {"queued", "排队中"},
	"state.placed":         {"placed", "已分配"},

	"code.unused":   {"unused", "未使用"},
	"code.bound":    {"in use", "已绑定"},
	"code.expired":  {"expired", "已过期"},
	"code.disabled": {"disabled", "已停用"},

	"mstate.pending":   {"in progress", "进行中"},
	"mstate.done":      {"done", "完成"},
	"mstate.failed":    {"failed", "失败"},
	"mstate.cancelled": {"cancelled", "已取消"},

	"outcome.placed":   {"placed", "已分配"},
	"outcome.queued":   {"queued", "排队中"},
	"outcome.rejected": {"rejected", "被拒绝"},

	"drift.pool_used":   {"pool use", "池已用数"},
	"drift.code_used":   {"code uses", "兑换码使用次数"},
	"drift.code_rebind": {"code moves", "兑换码换车次数"},

	"action.pool.created":     {"pool created", "创建池"},
	"action.pool.updated":     {"pool changed", "修改池"},
	"action.pool.status":      {"pool status", "池状态变更"},
	"action.placed":           {"placed", "已分配"},
	"action.queued":           {"queued", "进入排队"},
	"action.delivered":        {"delivered", "已交付"},
	"action.delivery.failed":  {"delivery failed", "交付失败"},
	"action.rejected":         {"rejected", "被拒绝"},
	"action.move.started":     {"move started", "开始换车"},
	"action.moved":            {"moved", "换车完成"},
	"action.released":         {"released", "已释放"},
	"action.release.failed":   {"release failed", "释放失败"},
	"action.release.started":  {"release started", "开始释放"},
	"action.drain.started":    {"drain started", "开始清空"},
	"action.health.offline":   {"went offline", "离线"},
	"action.health.recovered": {"recovered", "恢复"},
	"action.codes.created":    {"codes created", "生成兑换码"},
	"action.code.used":        {"code used", "使用兑换码"},
	"action.code.refunded":    {"code use given back", "退还兑换次数"},
	"action.code.bound":       {"code bound", "绑定兑换码"},
	"action.code.expired":     {"code expired", "兑换码过期"},
	"action.code.status":      {"code status", "兑换码状态变更"},
	"action.rebind.charged":   {"move charged", "扣除换车次数"},
	"action.rebind.refunded":  {"move given back", "退还换车次数"},
	"action.move.requested":   {"move requested", "申请换车"},
	"action.move.failed":      {"move failed", "换车失败"},
	"action.move.cancelled":   {"move cancelled", "换车取消"},
	"action.seat.carried":     {"seat carried over", "座位转移到新兑换码"},
	"action.orphan.repaired":  {"orphan repaired", "修复孤儿座位"},
	"action.expiry.warning":   {"expiry warning sent", "发送到期提醒"},
	"action.move.notified":    {"user told of the move", "已通知用户席位转移"},
	"action.queue.cancelled":  {"queue entry cancelled", "取消排队"},

	// dashboard
	"forecast.title":          {"Capacity forecast", "容量预测"},
	"forecast.none":           {"No active pools to forecast.", "没有可预测的活动池。"},
	"forecast.line":           {"%s: %s", "%s：%s"},
	"forecast.group":          {"%s, group %s", "%s（%s 组）"},
	"forecast.kind.server":    {"Servers", "服务器"},
	"forecast.kind.team":      {"Teams", "团队"},
	"forecast.add.server":     {"add %d servers before %s", "请在 %[2]s 前增加 %[1]d 台服务器"},
	"forecast.add_one.server": {"add %d server before %s", "请在 %[2]s 前增加 %[1]d 台服务器"},
	"forecast.add.team":       {"add %d teams before %s", "请在 %[2]s 前增加 %[1]d 个团队"},
	"forecast.add_one.team":   {"add %d team before %s", "请在 %[2]s 前增加 %[1]d 个团队"},
	"forecast.enough":         {"capacity is enough for %d days", "容量还够用 %d 天"},
	"forecast.idle":           {"nothing is being placed; capacity is enough", "目前没有新的分配，容量充足"},
	"forecast.basis":          {"At the placement rate of the last hour, counting the codes that end within 7 days.", "按最近一小时的分配速度计算，并计入 7 天内到期的兑换码。"},

	"dash.title":           {"Dashboard", "概览"},
	"dash.summary":         {"Summary", "摘要"},
	"dash.servers":         {"Servers: seats used", "服务器：已用座位"},
	"dash.teams":           {"Teams: seats used", "团队：已用座位"},
	"dash.pools_count":     {"%d pools", "共 %d 个"},
	"dash.unhealthy":       {"%d unhealthy", "%d 个异常"},
	"dash.queue":           {"Waiting in the queue", "排队中"},
	"dash.queue_split":     {"%d accounts, %d users", "%d 个账号，%d 个用户"},
	"dash.integrity":       {"Integrity", "一致性"},
	"dash.integrity_ok":    {"All good", "全部正常"},
	"dash.integrity_bad":   {"%d findings", "发现 %d 个问题"},
	"dash.integrity_see":   {"See the findings", "查看详情"},
	"dash.checked":         {"checked %s", "检查于 %s"},
	"dash.servers_use":     {"Servers: used / capacity", "服务器：已用 / 容量"},
	"dash.teams_use":       {"Teams: used / capacity", "团队：已用 / 容量"},
	"dash.no_servers":      {"No servers yet.", "还没有服务器。"},
	"dash.no_teams":        {"No teams yet.", "还没有团队。"},
	"dash.alerts":          {"Recent alerts", "最近告警"},
	"dash.no_alerts":       {"No alerts.", "没有告警。"},
	"dash.moves":           {"Recent moves", "最近换车"},
	"dash.no_moves":        {"No moves yet.", "还没有换车记录。"},
	"dash.all_moves":       {"All moves and history", "全部换车与历史"},
	"dash.chart_heading":   {"Over time", "趋势"},
	"dash.range":           {"Time range", "时间范围"},
	"dash.range_day":       {"24 hours", "24 小时"},
	"dash.range_week":      {"7 days", "7 天"},
	"dash.range_month":     {"30 days", "30 天"},
	"dash.chart_util":      {"Seats used, by kind and group", "座位使用率（按类型和分组）"},
	"dash.chart_util_axis": {"Used, % of capacity", "已用占容量 %"},
	"dash.chart_queue":     {"Members waiting in the queue", "排队成员数"},
	"dash.queue_axis":      {"Waiting", "排队"},
	"dash.chart_time":      {"Time (UTC)", "时间（UTC）"},
	"dash.chart_util_line": {"%s: %d%% used now (%d of %d seats), peak %d%%", "%s：当前已用 %d%%（%d / %d 个座位），峰值 %d%%"},
	"dash.queue_line":      {"%s: %d waiting now, peak %d", "%s：当前排队 %d，峰值 %d"},
	"dash.chart_more":      {"%d more groups are not drawn (the 8 with the most capacity are).", "另有 %d 个分组未画出（只画容量最大的 8 个）。"},
	"dash.chart_empty":     {"No samples yet. berth records the fleet every few minutes (BERTH_FLEET_SAMPLE_EVERY, 5 minutes by default); the charts fill in from then on.", "还没有采样数据。berth 每隔几分钟记录一次资源池状态（BERTH_FLEET_SAMPLE_EVERY，默认 5 分钟），图表随后逐步出现。"},
	"dash.chart_failed":    {"The charts could not be read; the rest of the dashboard is current.", "无法读取图表数据；概览的其余部分是最新的。"},
	"alert.offline":        {"went offline (health check)", "健康检查失败，已离线"},
	"alert.status":         {"set to %s", "被设为%s"},
	"alert.release_failed": {"could not remove %s", "无法移除 %s"},
	"moves.paid":           {"paid", "计次"},

	// servers and teams
	"pools.title.server":    {"Servers", "服务器"},
	"pools.title.team":      {"Teams", "团队"},
	"pools.caption.server":  {"%d servers", "共 %d 台服务器"},
	"pools.caption.team":    {"%d teams", "共 %d 个团队"},
	"pools.none.server":     {"No servers yet. Create them with the API or the berth pools command.", "还没有服务器。请通过 API 或 berth pools 命令创建。"},
	"pools.none.team":       {"No teams yet. Create them with the API or the berth pools command.", "还没有团队。请通过 API 或 berth pools 命令创建。"},
	"pools.name":            {"Name", "名称"},
	"pools.status":          {"Status", "状态"},
	"pools.usage":           {"Used / capacity", "已用 / 容量"},
	"pools.scripts":         {"Scripts held", "承载的脚本"},
	"pools.labels":          {"Labels", "标签"},
	"pools.priority":        {"Priority", "优先级"},
	"poolform.new.server":   {"New server", "新建服务器"},
	"poolform.new.team":     {"New team", "新建团队"},
	"poolform.edit.server":  {"Edit server", "编辑服务器"},
	"poolform.edit.team":    {"Edit team", "编辑团队"},
	"poolform.edit":         {"Edit", "编辑"},
	"poolform.pool":         {"Pool", "资源池"},
	"poolform.capacity":     {"Capacity", "容量"},
	"poolform.labels_hint":  {"One key=value a line.", "每行一个 key=value。"},
	"poolform.weight":       {"Weight", "权重"},
	"placement.heading":     {"Placement strategy", "分配策略"},
	"placement.help":        {"The strategy every placement uses (imports, redeems, the queue, moves), for the whole kind or one group; an import may still name its own. Empty group: the whole kind.", "所有分配（导入、兑换、排队、换车）使用的策略，可针对整个类型或某个分组；单次导入仍可指定自己的策略。分组留空：整个类型。"},
	"placement.group":       {"Group (optional)", "分组（可选）"},
	"placement.group_of":    {"group %s", "%s 组"},
	"placement.strategy":    {"Strategy", "策略"},
	"placement.pack":        {"pack (fill one pool first)", "集中（先填满一个池）"},
	"placement.spread":      {"spread (least loaded)", "均衡（负载最低优先）"},
	"placement.default":     {"default (pack)", "默认（集中）"},
	"placement.save":        {"Save strategy", "保存策略"},
	"placement.saved":       {"Placement strategy for %s: %s.", "%s 的分配策略：%s。"},
	"poolform.weight_hint":  {"1–100, default 1: this pool's share of new members. Spread fills a pool of weight 2 to twice its peers' load; pack starts a new script where free room × weight is largest.", "1–100，默认 1：此池分到的新成员份额。均衡策略下权重 2 的池负载可达同伴的两倍；集中策略下新脚本从“空位 × 权重”最大的池开始。"},
	"poolform.provider":     {"Provider", "提供方"},
	"poolform.type":         {"Provider type", "提供方类型"},
	"poolform.type_hint":    {"Only the settings of the selected type are saved.", "只保存所选类型的设置。"},
	"poolform.settings":     {"%s settings", "%s 设置"},
	"poolform.secret_set":   {"(set)", "（已设置）"},
	"poolform.secret_keep":  {"Leave empty to keep the stored value.", "留空则保留已保存的值。"},
	"poolform.list_hint":    {`A JSON list, e.g. ["/usr/local/bin/reload-worker", "{account}", "{path}"]; empty for none.`, `JSON 列表，例如 ["/usr/local/bin/reload-worker", "{account}", "{path}"]；留空表示不设置。`},
	"poolform.nums_hint":    {`A JSON list of numbers, e.g. [2, 9]; empty for none.`, `JSON 数字列表，例如 [2, 9]；留空表示不设置。`},
	"poolform.save":         {"Save", "保存"},
	"poolform.create":       {"Create", "创建"},
	"poolform.back":         {"Back to the list", "返回列表"},
	"poolform.created":      {"Created %s.", "已创建 %s。"},
	"poolform.updated":      {"Saved %s.", "已保存 %s。"},
	"poolcheck.title":       {"Test connection", "测试连接"},
	"poolcheck.button":      {"Test connection", "测试连接"},
	"poolcheck.of":          {"Connection test of %s", "%s 的连接测试"},
	"poolcheck.ok":          {"OK: the provider answered.", "正常：提供方已响应。"},
	"poolcheck.failed":      {"Failed:", "失败："},
	"poolcheck.pending":     {"Checking…", "检查中…"},
	"poolcheck.reload":      {"Reload for the answer", "刷新查看结果"},
	"poolcheck.unavailable": {"Connection tests are not available: the job queue is not running.", "无法测试连接：任务队列未运行。"},

	"bulk.open":                {"Change status…", "批量修改状态…"},
	"bulk.title":               {"Change status", "批量修改状态"},
	"bulk.status":              {"New status", "新状态"},
	"bulk.pick":                {"Choose a status", "请选择状态"},
	"bulk.reason":              {"Reason", "原因"},
	"bulk.reason_help":         {"Required. Shown in the history and to other operators.", "必填。会记录在历史中，其他操作员可见。"},
	"bulk.reason_required":     {"Give a reason for the change.", "请填写修改原因。"},
	"bulk.confirm":             {"Confirm", "确认"},
	"bulk.none_selected":       {"Select at least one row first.", "请先至少选择一行。"},
	"bulk.too_many":            {"At most %d at a time.", "一次最多 %d 个。"},
	"bulk.confirm_one.server":  {"Set 1 server to “{status}”?", "将 1 台服务器设为“{status}”？"},
	"bulk.confirm_many.server": {"Set {n} servers to “{status}”?", "将 {n} 台服务器设为“{status}”？"},
	"bulk.confirm_one.team":    {"Set 1 team to “{status}”?", "将 1 个团队设为“{status}”？"},
	"bulk.confirm_many.team":   {"Set {n} teams to “{status}”?", "将 {n} 个团队设为“{status}”？"},
	"bulk.danger":              {"Warning: nobody new will be placed there. Banned and credential-invalid pools also let their members move away for free.", "警告：之后不会再有新成员分配到这里。已封禁和凭据失效的池，其成员还可以免费换走。"},
	"bulk.selected":            {"{n} selected", "已选择 {n} 项"},
	"bulk.confirm_n":           {"Confirm ({n})", "确认（{n}）"},
	"bulk.select_all":          {"Select all", "全选"},
	"bulk.select":              {"Select %s", "选择 %s"},
	"bulk.results":             {"Result: set to “%s”", "结果：设为“%s”"},
	"bulk.item_ok":             {"changed", "已修改"},
	"bulk.item_failed":         {"failed: %s", "失败：%s"},
	"bulk.result":              {"%d %s set to “%s”.", "已将 %d 个%s设为“%s”。"},
	"bulk.result_partial":      {"%d changed, %d failed (%s). See each below.", "成功 %d 个，失败 %d 个（%s），详见下方。"},

	"drain.button":      {"Drain", "清空"},
	"drain.confirm":     {"Move every member off %s? New seats are made first; the old ones are released once the new ones work.", "要把 %s 上的所有成员迁走吗？会先建好新座位，新座位可用后再释放旧座位。"},
	"drain.result":      {"Draining %s: %d moving, %d queued, %d were already moving.", "正在清空 %s：%d 个迁移中，%d 个排队，%d 个本来就在迁移。"},
	"drain.title":       {"Draining %s", "清空 %s"},
	"drain.progress":    {"Progress", "进度"},
	"drain.pool_status": {"Pool status:", "池状态："},
	"drain.since":       {"draining since %s", "自 %s 起清空"},
	"drain.moved":       {"Moved", "已迁走"},
	"drain.waiting":     {"Waiting for room", "等待空位"},
	"drain.in_progress": {"Moving now", "迁移中"},
	"drain.failed":      {"Failed", "失败"},
	"drain.remaining":   {"Seats left on the pool", "池中剩余座位"},
	"drain.done":        {"Nothing is left to move.", "已没有待迁移的成员。"},
	"drain.refreshing":  {"Refreshes every %d seconds until nothing is left to move.", "每 %d 秒刷新一次，直到没有待迁移的成员。"},
	"drain.back_server": {"Back to servers", "返回服务器"},
	"drain.back_team":   {"Back to teams", "返回团队"},
	"drain.seats":       {"Seats on this pool", "此池的座位"},

	// migrations (migrate.go)
	"migrate.button":       {"Migrate selected…", "迁移所选…"},
	"migrate.title":        {"Migration plan", "迁移计划"},
	"migrate.plan":         {"Dry run: where each member would go now", "试运行：每个成员现在会迁往哪里"},
	"migrate.sources":      {"Moving every member off:", "迁走以下池中的所有成员："},
	"migrate.summary":      {"%d members: %d would move now, %d would wait for room.", "共 %d 个成员：%d 个会立即迁移，%d 个需等待空位。"},
	"migrate.explain":      {"Nothing has changed yet. Starting sets these pools to draining (nobody new lands on them); each new seat is made before the old one is released; whoever finds no room waits in the queue, ahead of new members.", "目前尚未做任何改动。开始后这些池会设为清空中（不再接收新成员）；先建好新座位再释放旧座位；找不到空位的成员排队等待，排在新成员之前。"},
	"migrate.caption":      {"Plan, %d members", "计划，共 %d 个成员"},
	"migrate.member":       {"Member", "成员"},
	"migrate.from":         {"From", "迁出"},
	"migrate.to":           {"To", "迁入"},
	"migrate.outcome":      {"Outcome", "结果"},
	"migrate.reason":       {"Why", "原因"},
	"migrate.would_move":   {"would move", "将迁移"},
	"migrate.would_wait":   {"would wait", "将排队"},
	"migrate.nothing":      {"These pools hold no member to move.", "这些池中没有要迁移的成员。"},
	"migrate.more":         {"%d more not listed.", "另有 %d 个未列出。"},
	"migrate.confirm":      {"Start moving every member off these %d pools?", "确定开始迁走这 %d 个池中的所有成员吗？"},
	"migrate.start":        {"Start the migration", "开始迁移"},
	"migrate.result":       {"Migration of %d pools started: %d moving, %d queued, %d failed.", "已开始迁移 %d 个池：%d 个迁移中，%d 个排队，%d 个失败。"},
	"migrate.item_failed":  {"%s on %s: %s", "%s（%s）：%s"},
	"migration.title":      {"Migration", "迁移进度"},
	"migration.since":      {"Started %s.", "开始于 %s。"},
	"migration.remaining":  {"Seats left on these pools", "这些池中剩余座位"},
	"migration.caption":    {"%d source pools", "共 %d 个源池"},
	"migration.total":      {"Total", "合计"},
	"migration.done":       {"Nothing is left to move.", "已没有待迁移的成员。"},
	"migration.refreshing": {"Refreshes every %d seconds until nothing is left to move.", "每 %d 秒刷新一次，直到没有待迁移的成员。"},
	"migration.failures":   {"Failed moves and why", "失败的迁移及原因"},

	// accounts
	"accounts.title":        {"Accounts", "账号"},
	"accounts.filter":       {"Filter accounts", "筛选账号"},
	"accounts.account":      {"Account", "账号"},
	"accounts.script":       {"Script", "脚本"},
	"accounts.server":       {"Server", "服务器"},
	"accounts.state":        {"State", "状态"},
	"accounts.reason":       {"Why", "原因"},
	"accounts.caption":      {"%d accounts", "共 %d 个账号"},
	"accounts.caption_more": {"The first %d accounts; narrow the filter to see others", "前 %d 个账号；缩小筛选范围以查看更多"},
	"accounts.none":         {"No accounts match.", "没有符合条件的账号。"},

	"upload.open":           {"Upload accounts…", "批量上传账号…"},
	"upload.title":          {"Upload credential files", "上传凭据文件"},
	"upload.files":          {"Credential files", "凭据文件"},
	"upload.files_help":     {"Pick many at once. Each file's name (without extension) is the account id.", "可一次选择多个文件。文件名（不含扩展名）即账号 ID。"},
	"upload.chosen":         {"{n} files chosen", "已选择 {n} 个文件"},
	"upload.script":         {"Script", "脚本"},
	"upload.script_help":    {"The script these accounts run; accounts of one script are kept together.", "这些账号运行的脚本；同一脚本的账号会尽量放在一起。"},
	"upload.labels":         {"Labels (optional)", "标签（可选）"},
	"upload.labels_help":    {"key=value, separated by commas (region=eu, group=vip): the accounts go only to servers carrying every label. A server with a group label takes only accounts of that group.", "key=value，用逗号分隔（region=eu, group=vip）：账号只会分配到带有全部这些标签的服务器。带 group 标签的服务器只接收该组的账号。"},
	"upload.submit":         {"Upload", "上传"},
	"upload.progress_label": {"Upload progress", "上传进度"},
	"upload.progress":       {"Uploading: {pct}%", "上传中：{pct}%"},
	"upload.processing":     {"Uploaded; placing the accounts…", "已上传，正在分配账号…"},
	"upload.results":        {"Results, one per file", "每个文件的结果"},
	"upload.summary":        {"{total} files: {placed} placed, {queued} queued, {rejected} rejected.", "共 {total} 个文件：{placed} 个已分配，{queued} 个排队，{rejected} 个被拒绝。"},
	"upload.failed":         {"The upload was refused: {detail}", "上传被拒绝：{detail}"},
	"upload.network":        {"The upload did not reach the server. Check the connection and send the same files again; nothing is placed twice.", "上传未到达服务器。请检查网络后重新上传同样的文件，不会重复分配。"},
	"upload.position":       {"queue position {n}", "排队第 {n} 位"},
	"upload.col_file":       {"File", "文件"},
	"upload.col_account":    {"Account", "账号"},
	"upload.col_result":     {"Result", "结果"},
	"upload.col_where":      {"Where / why", "位置 / 原因"},

	// seats
	"seats.title":           {"Seats", "座位"},
	"seats.search":          {"Search seats", "搜索座位"},
	"seats.email":           {"User email", "用户邮箱"},
	"seats.account":         {"Account", "账号"},
	"seats.pool":            {"Server or team", "服务器或团队"},
	"seats.state":           {"State", "状态"},
	"seats.live":            {"Live seats", "在用座位"},
	"seats.caption":         {"%d seats found", "找到 %d 个座位"},
	"seats.caption_live":    {"%d newest live seats", "最新的 %d 个在用座位"},
	"seats.id":              {"Seat", "座位"},
	"seats.member":          {"Member", "成员"},
	"seats.since":           {"Since", "创建时间"},
	"seats.none":            {"No seats match.", "没有符合条件的座位。"},
	"seats.move":            {"Move", "迁移"},
	"seats.move_to":         {"Move seat %d to (empty: best choice)", "把座位 %d 迁移到（留空：自动选择）"},
	"seats.any_pool":        {"best choice", "自动选择"},
	"seats.release":         {"Release", "释放"},
	"seats.release_confirm": {"Release the seat of %s on %s? The member is removed from it.", "要释放 %s 在 %s 上的座位吗？该成员会被移除。"},
	"seats.moving":          {"Seat %d is moving to %s; the old seat is released once the new one works.", "座位 %d 正在迁移到 %s；新座位可用后会释放旧座位。"},
	"seats.move_queued":     {"Seat %d will move when room frees up (queue position %d): %s", "座位 %d 将在有空位时迁移（排队第 %d 位）：%s"},
	"seats.released":        {"Seat %d is being released.", "座位 %d 正在释放。"},

	// codes
	"codes.title":           {"Redeem codes", "兑换码"},
	"codes.generate":        {"Generate codes", "生成兑换码"},
	"codes.generate_button": {"Generate", "生成"},
	"codes.count":           {"How many", "数量"},
	"codes.group":           {"Group", "分组"},
	"codes.group_help":      {"Users of a group go to teams labelled group=<this>. Without a group: only to teams without a group label (or with open=true).", "该分组的用户会被分配到标签为 group=<分组> 的团队。不填分组：只分配到没有 group 标签（或带 open=true）的团队。"},
	"codes.labels":          {"Labels (optional)", "标签（可选）"},
	"codes.labels_help":     {"key=value, separated by commas (region=eu): users go only to teams carrying every label.", "key=value，用逗号分隔（region=eu）：用户只会分配到带有全部这些标签的团队。"},
	"codes.bad_labels":      {"Labels %q: write key=value, separated by commas (keys: letters, digits, '.', '_', '-', '/'; not group: use the group field).", "标签 %q：请写成 key=value，用逗号分隔（键只能含字母、数字、'.'、'_'、'-'、'/'；分组请填在分组栏）。"},
	"codes.max_uses":        {"Uses per code", "每码可用次数"},
	"codes.valid_for":       {"Valid for", "有效期"},
	"codes.valid_for_help":  {"From first use, e.g. 720h (30 days) or 168h.", "从首次使用起计算，例如 720h（30 天）或 168h。"},
	"codes.rebind_limit":    {"Moves allowed", "可换车次数"},
	"codes.prefix":          {"Prefix", "前缀"},
	"codes.batch":           {"Batch", "批次"},
	"codes.batch_help":      {"A name to find this batch later; empty: the date and time.", "用于日后查找该批次的名称；留空则使用当前日期时间。"},
	"codes.bad_field":       {"Check the field “%s”.", "请检查“%s”一栏。"},
	"codes.generated":       {"%d codes generated in batch %s.", "已生成 %d 个兑换码，批次 %s。"},
	"codes.new_heading":     {"%d new codes", "新生成的 %d 个兑换码"},
	"codes.new_note":        {"Copy them now or export the batch as CSV.", "请立即复制，或将本批次导出为 CSV。"},
	"codes.export_batch":    {"Export this batch (CSV)", "导出本批次（CSV）"},
	"codes.export":          {"Export CSV", "导出 CSV"},
	"codes.export_hints":    {"Export CSV (last 4 characters only)", "导出 CSV（仅兑换码末 4 位）"},
	"codes.filter":          {"Filter codes", "筛选兑换码"},
	"codes.status":          {"Status", "状态"},
	"codes.email":           {"Email", "邮箱"},
	"codes.code_end":        {"Code (last 4 or more)", "兑换码（至少末 4 位）"},
	"codes.hint_short":      {"Give at least the last 4 characters of the code.", "请至少输入兑换码的末 4 位。"},
	"codes.caption":         {"%d codes", "共 %d 个兑换码"},
	"codes.code":            {"Code", "兑换码"},
	"codes.uses":            {"Used", "已用"},
	"codes.ends":            {"Ends", "到期"},
	"codes.rebinds":         {"Moves", "换车"},
	"codes.none":            {"No codes match.", "没有符合条件的兑换码。"},
	"codes.disable":         {"Disable", "停用"},
	"codes.enable":          {"Enable", "启用"},
	"codes.disable_confirm": {"Disable the code ending %s? Its user can no longer redeem or move with it.", "要停用末尾为 %s 的兑换码吗？用户将无法再用它兑换或换车。"},
	"codes.status_set":      {"Code %s is now %s.", "兑换码 %s 现在为“%s”。"},

	// queue
	"queue.title":          {"Queue", "排队"},
	"queue.filter":         {"Filter the queue", "筛选排队"},
	"queue.kind":           {"Kind", "类型"},
	"queue.caption":        {"%d waiting", "共 %d 个在排队"},
	"queue.position":       {"Position", "位置"},
	"queue.member":         {"Member", "成员"},
	"queue.what":           {"Waiting for", "等待"},
	"queue.move":           {"a move", "换车"},
	"queue.new":            {"a first seat", "首个座位"},
	"queue.reason":         {"Why", "原因"},
	"queue.since":          {"Since", "开始时间"},
	"queue.none":           {"Nobody is waiting.", "没有人在排队。"},
	"queue.cancel":         {"Cancel", "取消排队"},
	"queue.cancel_confirm": {"Take %s out of the queue?", "要把 %s 移出排队吗？"},
	"queue.cancelled":      {"%s is out of the queue.", "%s 已移出排队。"},

	// history
	"history.title":         {"Moves and history", "换车与历史"},
	"history.moves":         {"Moves", "换车"},
	"history.moves_filter":  {"Filter moves", "筛选换车"},
	"history.move_state":    {"Move state", "换车状态"},
	"history.moves_caption": {"%d newest moves", "最新的 %d 次换车"},
	"history.no_moves":      {"No moves.", "没有换车记录。"},
	"history.history":       {"History", "历史"},
	"history.filter":        {"Filter history", "筛选历史"},
	"history.caption":       {"%d entries, newest first", "共 %d 条，最新在前"},
	"history.when":          {"When", "时间"},
	"history.member":        {"Member", "成员"},
	"history.pool":          {"Server or team", "服务器或团队"},
	"history.action":        {"What", "事件"},
	"history.from_to":       {"From → to", "从 → 到"},
	"history.reason":        {"Why", "原因"},
	"history.actor":         {"By", "操作者"},
	"history.state":         {"State", "状态"},
	"history.paid":          {"Counted", "计次"},
	"history.finished":      {"Finished", "结束时间"},
	"history.none":          {"No history matches.", "没有符合条件的记录。"},
	"history.older":         {"Older entries", "更早的记录"},

	// audit and users (read from the API by the page's script)
	"audit.title":      {"Audit log", "审计日志"},
	"audit.lead":       {"Every admin action: who did what, with the state before and after.", "所有管理操作：谁做了什么，以及操作前后的状态。"},
	"audit.missing":    {"The audit log is not available on this server yet.", "此服务器暂不提供审计日志。"},
	"audit.none":       {"No admin actions recorded yet.", "还没有管理操作记录。"},
	"audit.export":     {"Export CSV", "导出 CSV"},
	"audit.caption":    {"{n} newest entries", "最新的 {n} 条记录"},
	"audit.col_at":     {"When", "时间"},
	"audit.col_actor":  {"Who", "操作者"},
	"audit.col_action": {"What", "操作"},
	"audit.col_target": {"On", "对象"},
	"audit.col_status": {"Answer", "结果"},
	"audit.col_change": {"Change (before → after)", "变更（之前 → 之后）"},
	"audit.col_ip":     {"From", "来源地址"},
	"api.denied":       {"Your role cannot see this.", "你的角色无权查看。"},
	"api.failed":       {"This could not be loaded ({status}). Reload the page to try again.", "加载失败（{status}），请刷新页面重试。"},

	"users.title":             {"Users", "用户"},
	"users.lead":              {"People who can sign in to this console, and their roles.", "可以登录此控制台的人员及其角色。"},
	"users.missing":           {"User management is not available on this server yet.", "此服务器暂不提供用户管理。"},
	"users.none":              {"No users.", "没有用户。"},
	"users.caption":           {"{n} users", "共 {n} 个用户"},
	"users.new":               {"Add a user", "添加用户"},
	"users.name_help":         {"Lower-case letters, digits, '.', '_', '@' or '-'.", "小写字母、数字、“.”、“_”、“@”或“-”。"},
	"users.password":          {"Password", "密码"},
	"users.password_help":     {"At least 12 characters. Give it to the person over a safe channel.", "至少 12 个字符。请通过安全渠道告知对方。"},
	"users.create":            {"Add user", "添加"},
	"users.created":           {"User added.", "已添加用户。"},
	"users.change":            {"Change a user", "修改用户"},
	"users.who":               {"User", "用户"},
	"users.keep":              {"(no change)", "（不变）"},
	"users.access":            {"Access", "访问权限"},
	"users.enable":            {"enabled", "启用"},
	"users.disable":           {"disabled (cannot sign in)", "停用（无法登录）"},
	"users.new_password":      {"New password", "新密码"},
	"users.new_password_help": {"Leave empty to keep the password. A new one also lets addresses held back by failed sign-ins try again, and signs the user out everywhere.", "留空则不修改。设置新密码还会让因登录失败而被暂停的地址重新尝试，并让该用户在所有地方退出登录。"},
	"users.save":              {"Save", "保存"},
	"users.changed":           {"User changed.", "已修改用户。"},
	"users.failed":            {"Not saved: {detail}", "未保存：{detail}"},
	"users.col_name":          {"Name", "用户名"},
	"users.col_role":          {"Role", "角色"},
	"users.col_created":       {"Created", "创建时间"},
	"users.col_disabled":      {"Disabled", "已停用"},
	"users.col_failed":        {"Wrong passwords", "密码错误次数"},
	"users.col_locked":        {"An address waits until", "有地址需等待至"},

	// integrity
	"integrity.title":          {"Integrity", "一致性检查"},
	"integrity.lead":           {"berth checks its own books: nobody holds two seats, no pool holds more than its capacity, no move hangs, and every counter matches what it counts.", "berth 会自查账目：没有人同时占两个座位，没有池超出容量，没有卡住的换车，所有计数都与实际一致。"},
	"integrity.clean":          {"Everything checks out (checked %s).", "全部正常（检查于 %s）。"},
	"integrity.found":          {"Found %d orphans, %d overbooked pools, %d stuck moves and %d drifting counters.", "发现 %d 个孤儿成员、%d 个超额的池、%d 个卡住的换车、%d 个计数偏差。"},
	"integrity.truncated":      {"Some lists were cut; repair and check again to see the rest.", "部分列表已截断；修复后再检查可看到其余部分。"},
	"integrity.orphans":        {"Orphans", "孤儿成员"},
	"integrity.orphans_help":   {"Members holding more live seats than a move explains.", "持有的在用座位多于换车所需的成员。"},
	"integrity.overbooked":     {"Overbooked pools", "超额的池"},
	"integrity.zombies":        {"Stuck moves", "卡住的换车"},
	"integrity.zombies_help":   {"Moves pending for more than 30 minutes.", "等待超过 30 分钟的换车。"},
	"integrity.drift":          {"Drifting counters", "计数偏差"},
	"integrity.drift_help":     {"Recorded counts that differ from what they are derived from.", "记录的计数与实际推算的不一致。"},
	"integrity.none":           {"None.", "无。"},
	"integrity.member":         {"Member", "成员"},
	"integrity.seats":          {"Live seats", "在用座位"},
	"integrity.pool":           {"Pool", "池"},
	"integrity.used":           {"Used", "已用"},
	"integrity.counted":        {"Counted seats", "实际座位数"},
	"integrity.capacity":       {"Capacity", "容量"},
	"integrity.since":          {"Since", "开始时间"},
	"integrity.reason":         {"Why", "原因"},
	"integrity.what":           {"Counter", "计数"},
	"integrity.recorded":       {"Recorded", "记录值"},
	"integrity.derived":        {"Derived", "推算值"},
	"integrity.code_id":        {"code #%d", "兑换码 #%d"},
	"integrity.repair":         {"Repair orphans", "修复孤儿成员"},
	"integrity.repair_help":    {"Keeps each orphan's newest seat in an active pool and releases the others.", "为每个孤儿成员保留其在运行中池里最新的座位，释放其余座位。"},
	"integrity.repair_confirm": {"Release the extra seats of these orphans?", "要释放这些孤儿成员多余的座位吗？"},
	"integrity.limit":          {"At most this many releases", "最多释放数量"},
	"integrity.bad_limit":      {"The limit must be between 1 and %d.", "数量必须在 1 到 %d 之间。"},
	"integrity.repair_result":  {"Repair result", "修复结果"},
	"integrity.repaired":       {"%d seats being released, %d left for another run, %d orphans changed meanwhile and were left alone.", "正在释放 %d 个座位，%d 个留待下次修复，%d 个孤儿成员在此期间已变化，未处理。"},
	// Plans: review, then apply (plans.go, plan.html).
	"plan.title":                   {"Plan", "计划"},
	"plan.heading":                 {"Plan #%d: %s", "计划 #%d：%s"},
	"plan.action.pools.status":     {"set the status of pools", "设置池状态"},
	"plan.action.pools.drain":      {"drain a pool", "清空池"},
	"plan.action.migrate":          {"migrate members", "迁移成员"},
	"plan.action.integrity.repair": {"repair orphans", "修复孤儿成员"},
	"plan.action.rebalance":        {"rebalance", "再平衡"},
	"plan.state.open":              {"Open", "待应用"},
	"plan.state.applied":           {"Applied", "已应用"},
	"plan.state.expired":           {"Expired", "已过期"},
	"plan.expires":                 {"Apply it before %s.", "请在 %s 之前应用。"},
	"plan.applied_by":              {"%s, by %s.", "%s，由 %s 应用。"},
	"plan.expired_help":            {"It was not applied in time: make a new plan, the state may have changed.", "未在有效期内应用：请重新生成计划，状态可能已变化。"},
	"plan.made_by":                 {"Made by %s, %s.", "由 %s 生成，%s。"},
	"plan.rests":                   {"It rests on %d facts read then; Apply reads them again and changes nothing if one no longer holds.", "它基于当时读取的 %d 项状态；应用时会重新核对，任何一项变化都不会做任何更改。"},
	"plan.step":                    {"Step", "步骤"},
	"plan.why":                     {"Why", "原因"},
	"plan.result":                  {"Result", "结果"},
	"plan.status.done":             {"Done", "完成"},
	"plan.status.queued":           {"Queued", "排队"},
	"plan.status.failed":           {"Failed", "失败"},
	"plan.nothing":                 {"Nothing to do: the state already is what the action asks for.", "无需操作：当前状态已符合要求。"},
	"plan.apply_help":              {"Apply takes exactly these steps, or none if what they rest on changed.", "应用将严格执行这些步骤；若所依据的状态已变化，则一个步骤也不执行。"},
	"plan.apply":                   {"Apply %d step(s)", "应用 %d 个步骤"},
	"plan.follow_drain":            {"Follow the drain", "查看清空进度"},
	"plan.back_integrity":          {"Back to integrity", "返回完整性检查"},
	"plan.step.pool_status":        {"Set %s from %s to %s", "将 %s 从 %s 改为 %s"},
	"plan.step.move":               {"Move %s off %s to %s", "将 %s 从 %s 迁到 %s"},
	"plan.step.move_queued":        {"Move %s off %s (no pool has room now: waits in the queue)", "将 %s 从 %s 迁走（目前没有池有空位：排队等待）"},
	"plan.step.release":            {"Release %s's seat #%d on %s (keeps seat #%d)", "释放 %[1]s 在 %[3]s 上的座位 #%[2]d（保留座位 #%[4]d）"},
	"plan.moving_to":               {"moving to %s", "正在迁往 %s"},
	"plan.created":                 {"Plan made: %d step(s). Review them, then apply.", "已生成计划：%d 个步骤。请核对后应用。"},
	"plan.changed":                 {"Not applied: the state changed since the plan was made (%s). Nothing was changed; make a new plan.", "未应用：计划生成后状态已变化（%s）。未做任何更改，请重新生成计划。"},
	"plan.expired":                 {"Not applied: the plan expired. Make a new plan.", "未应用：计划已过期。请重新生成计划。"},
	"plan.applied_already":         {"Not applied: this plan was applied already.", "未应用：该计划已应用过。"},
	"plan.applied":                 {"Plan applied: %d done, %d queued, %d failed.", "计划已应用：%d 个完成，%d 个排队，%d 个失败。"},
	"plan.review":                  {"Review plan", "查看计划"},
	"plan.review_drain":            {"Plan drain", "规划清空"},
	"plan.pre.pool_status":         {"%s is %s", "%s 状态为%s"},
	"plan.pre.pool_room":           {"%s has at least %d free seat(s)", "%s 至少有 %d 个空位"},
	"plan.pre.seat":                {"%s holds seat #%d on %s, not moving", "%[1]s 持有 %[3]s 上的座位 #%[2]d，且未在迁移"},
	"plan.pre.member_seats":        {"%s holds exactly the seats %s", "%s 恰好持有座位 %s"},
}
