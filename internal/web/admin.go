package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/fleet"
	"github.com/berthhq/berth/internal/health"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// parseForm reads a posted form of at most 1 MiB.
func (w *Web) parseForm(rw http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(rw, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		w.renderError(rw, r, http.StatusBadRequest, w.lang(r).T("err.form"))
		return false
	}
	return true
}

// fail shows err on an error page in plain words.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, err error) {
	status, msg := w.describe(r, err)
	w.renderError(rw, r, status, msg)
}

func actor(r *http.Request) string { return auth.Actor(r.Context()) }

// ---- dashboard ----

type poolRow struct {
	model.Pool
	Scripts map[string]int
	Health  health.Report // this process's score (package health)
}

type alert struct {
	model.HistoryEntry
	Kind string // offline | unhealthy | release_failed
}

// dashPools is the largest fleet whose pools the dashboard draws one by
// one; past it, the cards still sum every pool.
const dashPools = 1000

// dashKind is one kind of pool on the dashboard: its card (the kind's
// totals) and its bars (its pools drawn one by one, none past dashPools).
type dashKind struct {
	fleet.KindTotals
	Bars []store.PoolBrief
	// Page is the kind's pools page under /admin/; Card, Use and None are
	// the translation keys of the card's heading, the bars' heading and
	// the words for a fleet without pools of the kind.
	Page, Card, Use, None string
}

type dashData struct {
	Kinds                    []dashKind // servers, then teams
	QueueServers, QueueTeams int
	Integrity                *integrity.Report
	IntegrityFindings        int
	Alerts                   []alert
	Moves                    []model.Move
	// Forecast is the capacity forecast in words, one line a kind and
	// group (forecast.go); ForecastFailed when it could not be read.
	Forecast       []forecastLine
	ForecastFailed bool
	// Charts is the charts section (chart.go, templates/charts.tmpl),
	// drawn on the server as inline SVG.
	Charts template.HTML
}

// dashboard shows the fleet's summary (package fleet, read now: the
// operator sees the change they just made), the alerts and the last moves.
func (w *Web) dashboard(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s := fleet.Read(ctx, w.rd, fleet.Options{PoolSeries: dashPools, Integrity: integrity.Options{Limit: 100},
		Forecast: fleet.ForecastOptions{Horizon: forecastHorizon}})
	if err := errors.Join(s.PoolsErr, s.QueueErr, s.IntegrityErr); err != nil {
		w.fail(rw, r, err)
		return
	}
	d := &dashData{Kinds: []dashKind{
		{KindTotals: s.Kind(model.KindServer), Page: "servers", Card: "dash.servers", Use: "dash.servers_use", None: "dash.no_servers"},
		{KindTotals: s.Kind(model.KindTeam), Page: "teams", Card: "dash.teams", Use: "dash.teams_use", None: "dash.no_teams"},
	}}
	for _, p := range s.PerPool {
		k := &d.Kinds[1]
		if p.Kind == model.KindServer {
			k = &d.Kinds[0]
		}
		k.Bars = append(k.Bars, p)
	}
	d.QueueServers, d.QueueTeams = s.Queued(model.KindServer), s.Queued(model.KindTeam)
	d.Integrity = &s.Integrity
	d.IntegrityFindings = s.Findings()
	d.Forecast, d.ForecastFailed = forecastLines(w.lang(r), s.Forecast, w.rd.Now()), s.ForecastErr != nil
	if s.ForecastErr != nil {
		w.log.Warn("web: capacity forecast", "request_id", requestID(r), "err", s.ForecastErr)
	}
	var err error
	if d.Alerts, err = w.alerts(r, 12); err != nil {
		w.fail(rw, r, err)
		return
	}
	if d.Moves, err = w.rd.MoveList(ctx, "", 0, 10); err != nil {
		w.fail(rw, r, err)
		return
	}
	if d.Charts, err = w.charts(r); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.render(rw, r, http.StatusOK, "dashboard", "dash.title", d)
}

// alerts are the newest history rows that need an operator: pools the
// monitor took offline, pools set unhealthy, removals that gave up.
func (w *Web) alerts(r *http.Request, n int) ([]alert, error) {
	q := w.rd
	var out []alert
	for _, a := range []struct{ action, kind string }{
		{model.ActHealthOffline, "offline"}, {model.ActPoolStatus, "unhealthy"}, {model.ActReleaseFailed, "release_failed"},
	} {
		limit := n
		if a.action == model.ActPoolStatus {
			limit = 10 * n // most status changes are not alerts
		}
		rows, err := q.HistoryList(r.Context(), store.HistoryFilter{Action: a.action, Limit: limit})
		if err != nil {
			return nil, err
		}
		for _, h := range rows {
			if a.action == model.ActPoolStatus && !model.PoolStatus(h.To).Unhealthy() {
				continue
			}
			out = append(out, alert{HistoryEntry: h, Kind: a.kind})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// ---- servers and teams ----

type bulkView struct {
	Status string
	OK     []string
	Failed []bulkItem
}

type bulkItem struct{ Name, Error string }

type poolsData struct {
	Kind     string
	Pools    []poolRow
	Statuses []model.PoolStatus
	Bulk     *bulkView
	// Placement is the kind's stored strategy (placement.go).
	Placement placementView
}

func (w *Web) pools(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		res := w.taken(r)
		w.renderPools(rw, r, kind, res.Bulk, res.Flash...)
	}
}

func (w *Web) renderPools(rw http.ResponseWriter, r *http.Request, kind string, bulk *bulkView, fl ...flash) {
	q := w.rd
	pools, err := q.PoolList(r.Context(), model.Kind(kind))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	d := &poolsData{Kind: kind, Statuses: model.PoolStatuses(), Bulk: bulk}
	if d.Placement, err = w.placementOf(r, kind); err != nil {
		w.fail(rw, r, err)
		return
	}
	for _, p := range pools {
		row := poolRow{Pool: p, Health: w.svc.PoolHealth(p.ID)}
		if model.Kind(kind) == model.KindServer {
			if row.Scripts, err = q.PoolKeys(r.Context(), p.ID); err != nil {
				w.fail(rw, r, err)
				return
			}
		}
		d.Pools = append(d.Pools, row)
	}
	w.render(rw, r, http.StatusOK, "pools", "pools.title."+kind, d, fl...)
}

// poolStatus sets the status of the selected pools through alloc.SetStatus
// and shows the result of each (once, after the redirect to the pools page).
func (w *Web) poolStatus(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		ids, status, message, ok := w.statusForm(rw, r, kind, 1000)
		if !ok {
			return
		}
		l := w.lang(r)
		n := httpx.NoteOf(r)
		n.Target = "pools=" + joinIDs(ids)
		n.Before = w.poolSnapshots(r, ids)
		res, err := w.poolAdmin.SetStatus(r.Context(), ids, status, message, actor(r))
		n.After = w.poolSnapshots(r, ids)
		if err != nil {
			w.showRefusal(rw, r, err, func(f flash) { w.renderPools(rw, r, kind, nil, f) })
			return
		}
		names := w.poolNames(r)
		failed := map[int64]string{}
		bv := &bulkView{Status: status}
		for _, f := range res.Failed {
			if _, dup := failed[f.ID]; !dup {
				failed[f.ID] = f.Error
			}
		}
		seen := map[int64]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			name := names[id]
			if name == "" {
				name = "#" + strconv.FormatInt(id, 10)
			}
			if e, bad := failed[id]; bad {
				bv.Failed = append(bv.Failed, bulkItem{Name: name, Error: e})
			} else {
				bv.OK = append(bv.OK, name)
			}
		}
		kindWord := l.T("kind." + kind + ".plural")
		fl := flash{"ok", l.T("bulk.result", res.SuccessCount, kindWord, l.Word("status", status))}
		if res.FailedCount > 0 {
			fl = flash{"warn", l.T("bulk.result_partial", res.SuccessCount, res.FailedCount, kindWord)}
		}
		w.done(rw, r, "/admin/"+kind+"s", nil, &result{Flash: []flash{fl}, Bulk: bv})
	}
}

// statusForm reads the bulk status dialog's form: the pools (no more than most),
// the status and the reason. ok is false once it answered the request (an
// error page, or the pools page with a message).
func (w *Web) statusForm(rw http.ResponseWriter, r *http.Request, kind string, most int) (ids []int64, status, message string, ok bool) {
	if !w.parseForm(rw, r) {
		return nil, "", "", false
	}
	l := w.lang(r)
	for _, v := range r.PostForm["ids"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			w.renderError(rw, r, http.StatusBadRequest, l.T("err.form"))
			return nil, "", "", false
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		w.renderPools(rw, r, kind, nil, flash{"error", l.T("bulk.none_selected")})
		return nil, "", "", false
	}
	if len(ids) > most {
		w.renderPools(rw, r, kind, nil, flash{"error", l.T("bulk.too_many", most)})
		return nil, "", "", false
	}
	message = strings.TrimSpace(r.PostForm.Get("message"))
	if message == "" {
		w.renderPools(rw, r, kind, nil, flash{"error", l.T("bulk.reason_required")})
		return nil, "", "", false
	}
	return ids, r.PostForm.Get("status"), message, true
}

func (w *Web) poolNames(r *http.Request) map[int64]string {
	out := map[int64]string{}
	pools, err := w.rd.PoolList(r.Context(), "")
	if err != nil {
		return out
	}
	for _, p := range pools {
		out[p.ID] = p.Name
	}
	return out
}

func (w *Web) poolDrain(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			w.notFound(rw, r)
			return
		}
		n := httpx.NoteOf(r)
		n.Target = "pool=" + strconv.FormatInt(id, 10)
		n.Before = w.poolSnapshots(r, []int64{id})
		res, err := w.svc.DrainPool(r.Context(), id, actor(r))
		n.After = w.poolSnapshots(r, []int64{id})
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		l := w.lang(r)
		w.done(rw, r, "/admin/"+kind+"s/"+strconv.FormatInt(id, 10)+"/drain", nil, &result{Flash: []flash{{"ok", l.T("drain.result", res.Pool, res.Moving, res.Queued, res.Already)}}})
	}
}

// ---- accounts ----

type accountsData struct {
	Script, Pool string
	Items        []store.Account
	Scripts      []string
	Servers      []string
	Limit        int
	More         bool
}

const accountsLimit = 500

func (w *Web) accounts(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := w.rd
	d := &accountsData{Script: strings.TrimSpace(r.URL.Query().Get("script")), Pool: strings.TrimSpace(r.URL.Query().Get("server")), Limit: accountsLimit}
	items, err := q.AccountList(ctx, store.AccountFilter{Script: d.Script, Pool: d.Pool, Limit: accountsLimit + 1})
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if len(items) > accountsLimit {
		items, d.More = items[:accountsLimit], true
	}
	d.Items = items
	pools, err := q.PoolList(ctx, model.KindServer)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	scripts := map[string]bool{}
	for i, p := range pools {
		d.Servers = append(d.Servers, p.Name)
		if i >= 200 {
			continue // the script suggestions come from the first servers only
		}
		keys, err := q.PoolKeys(ctx, p.ID)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		for k := range keys {
			scripts[k] = true
		}
	}
	for k := range scripts {
		d.Scripts = append(d.Scripts, k)
	}
	sort.Strings(d.Scripts)
	w.render(rw, r, http.StatusOK, "accounts", "accounts.title", d)
}

// ---- seats ----

type seatsData struct {
	Email, Account, Pool, State string
	Searched                    bool
	Items                       []model.Seat
	States                      []model.SeatState
	Pools                       []model.Pool
}

func (w *Web) seats(rw http.ResponseWriter, r *http.Request) {
	w.renderSeats(rw, r, w.taken(r).Flash...)
}

func (w *Web) renderSeats(rw http.ResponseWriter, r *http.Request, fl ...flash) {
	ctx := r.Context()
	q := w.rd
	v := r.URL.Query()
	if r.Method == http.MethodPost {
		v = r.PostForm
	}
	d := &seatsData{Email: strings.TrimSpace(v.Get("email")), Account: strings.TrimSpace(v.Get("account")),
		Pool: v.Get("pool"), State: v.Get("state"), States: model.SeatStates(), Items: []model.Seat{}}
	var err error
	if d.Pools, err = q.PoolList(ctx, ""); err != nil {
		w.fail(rw, r, err)
		return
	}
	f := store.SeatFilter{Limit: 200}
	member, kind := d.Account, model.KindServer
	if d.Email != "" {
		member, kind = d.Email, model.KindTeam
		if e, err := codes.Email(d.Email); err == nil {
			member = e
		}
	}
	d.Searched = member != "" || d.Pool != "" || d.State != ""
	if member != "" {
		m, err := q.MemberGetByExternal(ctx, kind, member)
		if errors.Is(err, store.ErrNotFound) {
			w.render(rw, r, http.StatusOK, "seats", "seats.title", d, fl...)
			return
		}
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		f.MemberID = m.ID
	}
	if d.Pool != "" {
		for _, p := range d.Pools {
			if p.Name == d.Pool {
				f.PoolID = p.ID
			}
		}
		if f.PoolID == 0 {
			w.render(rw, r, http.StatusOK, "seats", "seats.title", d, fl...)
			return
		}
	}
	if d.State != "" {
		f.States = []model.SeatState{model.SeatState(d.State)}
	} else if !d.Searched {
		f.States = []model.SeatState{model.SeatReserved, model.SeatProvisioning, model.SeatActive}
	}
	if d.Items, err = q.SeatList(ctx, f); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.render(rw, r, http.StatusOK, "seats", "seats.title", d, fl...)
}

func seatID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

func (w *Web) seatMove(rw http.ResponseWriter, r *http.Request) {
	w.seatAction(rw, r, func(id int64) (string, error) {
		o, err := w.svc.MoveSeat(r.Context(), id, strings.TrimSpace(r.PostForm.Get("to")), actor(r))
		if err != nil {
			return "", err
		}
		if o.Status != alloc.OutcomePlaced {
			return w.lang(r).T("seats.move_queued", id, o.Position, w.lang(r).Why(o.Why, o.Reason)), nil
		}
		return w.lang(r).T("seats.moving", id, o.Pool), nil
	})
}

func (w *Web) seatRelease(rw http.ResponseWriter, r *http.Request) {
	w.seatAction(rw, r, func(id int64) (string, error) {
		return w.lang(r).T("seats.released", id), w.svc.Release(r.Context(), id, actor(r))
	})
}

// seatAction does act to the seat of the path, its audit row holding the
// seat before and after, and redirects to the seats page (its search kept)
// with act's message, or shows the refusal.
func (w *Web) seatAction(rw http.ResponseWriter, r *http.Request, act func(id int64) (string, error)) {
	id, ok := seatID(r)
	if !ok {
		w.notFound(rw, r)
		return
	}
	if !w.parseForm(rw, r) {
		return
	}
	n := httpx.NoteOf(r)
	n.Target, n.Before = "seat="+strconv.FormatInt(id, 10), w.seatSnapshot(r, id)
	msg, err := act(id)
	n.After = w.seatSnapshot(r, id)
	if err != nil {
		w.showRefusal(rw, r, err, func(f flash) { w.renderSeats(rw, r, f) })
		return
	}
	search := url.Values{}
	for _, k := range []string{"email", "account", "pool", "state"} {
		if v := strings.TrimSpace(r.PostForm.Get(k)); v != "" {
			search.Set(k, v)
		}
	}
	w.done(rw, r, "/admin/seats", search, &result{Flash: []flash{{"ok", msg}}})
}

// showRefusal shows an action's refusal on its page (show, given the error
// as a flash), or the error page for an internal failure.
func (w *Web) showRefusal(rw http.ResponseWriter, r *http.Request, err error, show func(flash)) {
	code, msg := w.describe(r, err)
	if code >= 500 {
		w.renderError(rw, r, code, msg)
		return
	}
	show(flash{"error", msg})
}

// ---- codes ----

type codesData struct {
	Status, Group, Email, Code, Batch string
	Items                             []model.Code
	Statuses                          []model.CodeStatus
	Next                              int64
	Generated                         []string
	GeneratedBatch                    string
	Spec                              codeSpecForm
	CSV                               string
}

type codeSpecForm struct {
	Count, MaxUses, RebindLimit string
	Group, ValidFor, Prefix     string
	Batch, Labels               string
}

const codesPage = 200

// codes lists codes; after a generation it shows the new codes, once.
func (w *Web) codes(rw http.ResponseWriter, r *http.Request) {
	res := w.taken(r)
	w.renderCodes(rw, r, &codesData{Generated: res.Codes, GeneratedBatch: res.Batch}, res.Flash)
}

func (w *Web) renderCodes(rw http.ResponseWriter, r *http.Request, d *codesData, fl []flash) {
	qv := r.URL.Query()
	d.Status, d.Group, d.Email, d.Code, d.Batch = qv.Get("status"), qv.Get("group"), strings.TrimSpace(qv.Get("email")), strings.TrimSpace(qv.Get("code")), qv.Get("batch")
	d.Statuses = []model.CodeStatus{model.CodeUnused, model.CodeBound, model.CodeExpired, model.CodeDisabled}
	if d.Spec == (codeSpecForm{}) {
		d.Spec = codeSpecForm{Count: "10", MaxUses: "1", RebindLimit: "3", ValidFor: "720h"}
	}
	after, _ := strconv.ParseInt(qv.Get("after"), 10, 64)
	f := store.CodeFilter{Status: model.CodeStatus(d.Status), Group: d.Group, Email: strings.ToLower(d.Email), Batch: d.Batch,
		Limit: codesPage + 1, After: after}
	if d.Code != "" {
		norm, err := codes.Normalize(d.Code)
		if err != nil || len(norm) < 4 {
			// A partial code: the hint is its last four characters.
			norm = strings.NewReplacer("-", "", " ", "", "I", "1", "L", "1", "O", "0").Replace(strings.ToUpper(d.Code))
		}
		if len(norm) < 4 {
			fl = append(fl, flash{"error", w.lang(r).T("codes.hint_short")})
		} else {
			f.Hint = codes.Hint(norm)
		}
	}
	items, err := w.rd.CodeList(r.Context(), f)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	d.Items, d.Next = cutPage(items, codesPage, func(c model.Code) int64 { return c.ID })
	csv := url.Values{"format": {"csv"}}
	for _, kv := range [][2]string{{"status", d.Status}, {"group", d.Group}, {"email", d.Email}, {"batch", d.Batch}} {
		if kv[1] != "" {
			csv.Set(kv[0], kv[1])
		}
	}
	d.CSV = "/api/v1/codes?" + csv.Encode()
	w.render(rw, r, http.StatusOK, "codes", "codes.title", d, fl...)
}

func (w *Web) codesGenerate(rw http.ResponseWriter, r *http.Request) {
	if !w.parseForm(rw, r) {
		return
	}
	l := w.lang(r)
	f := r.PostForm
	d := &codesData{Spec: codeSpecForm{Count: f.Get("count"), MaxUses: f.Get("max_uses"), RebindLimit: f.Get("rebind_limit"),
		Group: strings.TrimSpace(f.Get("group")), ValidFor: strings.TrimSpace(f.Get("valid_for")), Prefix: strings.TrimSpace(f.Get("prefix")),
		Batch: strings.TrimSpace(f.Get("batch")), Labels: strings.TrimSpace(f.Get("labels"))}}
	bad := func(field string) {
		w.renderCodes(rw, r, d, []flash{{"error", l.T("codes.bad_field", l.T("codes."+field))}})
	}
	spec := codebook.Spec{Group: d.Spec.Group, Prefix: d.Spec.Prefix, Batch: d.Spec.Batch}
	labels, err := alloc.ParseLabels(strings.Split(d.Spec.Labels, ","))
	if err != nil {
		w.renderCodes(rw, r, d, []flash{{"error", l.T("codes.bad_labels", d.Spec.Labels)}})
		return
	}
	spec.Labels = labels
	if spec.Count, err = strconv.Atoi(strings.TrimSpace(d.Spec.Count)); err != nil {
		bad("count")
		return
	}
	if d.Spec.MaxUses != "" {
		if spec.MaxUses, err = strconv.Atoi(strings.TrimSpace(d.Spec.MaxUses)); err != nil {
			bad("max_uses")
			return
		}
	}
	if d.Spec.RebindLimit != "" {
		n, err := strconv.Atoi(strings.TrimSpace(d.Spec.RebindLimit))
		if err != nil {
			bad("rebind_limit")
			return
		}
		spec.RebindLimit = &n
	}
	if d.Spec.ValidFor != "" {
		v, err := time.ParseDuration(d.Spec.ValidFor)
		if err != nil {
			bad("valid_for")
			return
		}
		spec.ValidFor = model.Duration(v)
	}
	if spec.Batch == "" {
		spec.Batch = w.rd.Now().Format("20060102-150405")
	}
	n := httpx.NoteOf(r)
	n.Target, n.Request = "batch="+spec.Batch, spec
	out, err := w.codeBook.Generate(r.Context(), spec, actor(r))
	n.After = map[string]any{"generated": len(out), "batch": spec.Batch}
	if err != nil {
		w.showRefusal(rw, r, err, func(f flash) { w.renderCodes(rw, r, d, []flash{f}) })
		return
	}
	// The codes are shown once, after the redirect, to this user only;
	// they are never in the URL.
	w.done(rw, r, "/admin/codes", url.Values{"batch": {spec.Batch}},
		&result{Flash: []flash{{"ok", l.T("codes.generated", len(out), spec.Batch)}}, Codes: out, Batch: spec.Batch})
}

func (w *Web) codeStatus(rw http.ResponseWriter, r *http.Request) {
	if !w.parseForm(rw, r) {
		return
	}
	l := w.lang(r)
	code, status := r.PostForm.Get("code"), r.PostForm.Get("status")
	n := httpx.NoteOf(r)
	n.Before = w.codeSnapshot(r, code)
	c, err := w.codeBook.SetStatus(r.Context(), code, model.CodeStatus(status), actor(r))
	n.After = w.codeSnapshot(r, code)
	if c.Hint != "" {
		n.Target = "code=…" + c.Hint
	}
	if err != nil {
		w.showRefusal(rw, r, err, func(f flash) { w.renderCodes(rw, r, &codesData{}, []flash{f}) })
		return
	}
	w.done(rw, r, "/admin/codes", nil, &result{Flash: []flash{{"ok", l.T("codes.status_set", "…"+c.Hint, l.Word("code", c.Status))}}})
}

// ---- queue ----

type queueData struct {
	Kind  string
	Items []queueRow // with what would place each now (wouldfit.go)
	Sim   *simForm
}

func (w *Web) queue(rw http.ResponseWriter, r *http.Request) {
	w.renderQueue(rw, r, w.taken(r).Flash...)
}

func (w *Web) renderQueue(rw http.ResponseWriter, r *http.Request, fl ...flash) {
	kind := model.Kind(r.URL.Query().Get("kind"))
	if !kind.Valid() {
		kind = ""
	}
	items, err := w.rd.QueueList(r.Context(), kind, 1000)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	w.render(rw, r, http.StatusOK, "queue", "queue.title", &queueData{Kind: string(kind), Items: w.queueWouldFit(r, items), Sim: w.simulate(r)}, fl...)
}

func (w *Web) queueCancel(rw http.ResponseWriter, r *http.Request) {
	if !w.parseForm(rw, r) {
		return
	}
	kind, member := model.Kind(r.PostForm.Get("kind")), r.PostForm.Get("member")
	l := w.lang(r)
	if !kind.Valid() || member == "" {
		w.renderQueue(rw, r, flash{"error", l.T("err.form")})
		return
	}
	n := httpx.NoteOf(r)
	n.Target = "member=" + member
	if m, err := w.rd.MemberGetByExternal(r.Context(), kind, member); err == nil {
		if e, err := w.rd.QueueGet(r.Context(), m.ID); err == nil {
			n.Before = e
		}
	}
	if err := w.svc.CancelQueued(r.Context(), kind, member, actor(r)); err != nil {
		w.showRefusal(rw, r, err, func(f flash) { w.renderQueue(rw, r, f) })
		return
	}
	w.done(rw, r, "/admin/queue", nil, &result{Flash: []flash{{"ok", l.T("queue.cancelled", member)}}})
}

// ---- history and moves ----

type historyData struct {
	Member, Pool, Action, MoveState string
	Items                           []model.HistoryEntry
	Moves                           []model.Move
	Older                           int64
	Actions                         []string
	MoveStates                      []model.MoveState
}

var historyActions = []string{
	model.ActPoolCreated, model.ActPoolUpdated, model.ActPoolStatus, model.ActPlaced, model.ActQueued, model.ActDelivered,
	model.ActDeliveryFailed, model.ActRejected, model.ActMoveStarted, model.ActMoved, model.ActReleased, model.ActReleaseFailed,
	model.ActRelease, model.ActDrainStarted, model.ActHealthOffline, model.ActHealthRecovered, model.ActCodesCreated,
	model.ActCodeUsed, model.ActCodeRefunded, model.ActCodeBound, model.ActCodeExpired, model.ActCodeStatus, model.ActRebindCharged,
	model.ActRebindRefunded, model.ActMoveRequested, model.ActMoveFailed, model.ActMoveCancelled, model.ActSeatCarried,
	model.ActOrphanRepaired, model.ActExpiryWarning, model.ActMoveNotified, model.ActQueueCancelled,
}

const historyPage = 200

// cutPage keeps the first n of items (read n+1, to know whether more
// follow) and returns the id the next page starts from: 0 when none.
func cutPage[T any](items []T, n int, id func(T) int64) ([]T, int64) {
	if len(items) <= n {
		return items, 0
	}
	return items[:n], id(items[n-1])
}

func (w *Web) history(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &historyData{Member: strings.TrimSpace(q.Get("member")), Pool: strings.TrimSpace(q.Get("pool")), Action: q.Get("action"),
		MoveState: q.Get("move_state"), Actions: slices.Sorted(slices.Values(historyActions)),
		MoveStates: []model.MoveState{model.MovePending, model.MoveDone, model.MoveFailed, model.MoveCancelled}}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	reader := w.rd
	items, err := reader.HistoryList(r.Context(), store.HistoryFilter{Member: d.Member, Pool: d.Pool, Action: d.Action, BeforeID: before, Limit: historyPage + 1})
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	d.Items, d.Older = cutPage(items, historyPage, func(e model.HistoryEntry) int64 { return e.ID })
	if d.Moves, err = reader.MoveList(r.Context(), model.MoveState(d.MoveState), 0, 50); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.render(rw, r, http.StatusOK, "history", "history.title", d)
}

// ---- audit and users: read from the JSON API by the page's script ----

func (w *Web) audit(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, http.StatusOK, "audit", "audit.title", nil)
}

func (w *Web) users(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, http.StatusOK, "users", "users.title", nil)
}

// ---- integrity ----

type integrityData struct {
	Report *integrity.Report
	Repair *integrity.RepairResult
	Limit  int
}

func (w *Web) integrity(rw http.ResponseWriter, r *http.Request) {
	res := w.taken(r)
	w.renderIntegrity(rw, r, res.Repair, res.Flash...)
}

func (w *Web) renderIntegrity(rw http.ResponseWriter, r *http.Request, rep *integrity.RepairResult, fl ...flash) {
	report, err := integrity.Check(r.Context(), w.rd, integrity.Options{})
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	w.render(rw, r, http.StatusOK, "integrity", "integrity.title", &integrityData{Report: &report, Repair: rep, Limit: 100}, fl...)
}

// repairLimit reads the integrity repair form's limit; ok is false once it
// answered the request (the integrity page with a message).
func (w *Web) repairLimit(rw http.ResponseWriter, r *http.Request) (limit int, ok bool) {
	if !w.parseForm(rw, r) {
		return 0, false
	}
	limit, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("limit")))
	if err != nil || limit < 1 || limit > integrity.MaxRepair {
		w.renderIntegrity(rw, r, nil, flash{"error", w.lang(r).T("integrity.bad_limit", integrity.MaxRepair)})
		return 0, false
	}
	return limit, true
}

func (w *Web) integrityRepair(rw http.ResponseWriter, r *http.Request) {
	limit, ok := w.repairLimit(rw, r)
	if !ok {
		return
	}
	l := w.lang(r)
	_, res, err := w.svc.RepairOrphans(r.Context(), integrity.Options{}, limit, actor(r))
	httpx.NoteOf(r).After = res
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	w.done(rw, r, "/admin/integrity", nil, &result{Flash: []flash{{"ok", l.T("integrity.repaired", res.Released, res.Skipped, res.Changed)}}, Repair: &res})
}

// ---- audit snapshots ----

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

func (w *Web) poolSnapshots(r *http.Request, ids []int64) []model.Pool {
	out := []model.Pool{}
	for _, id := range ids {
		if p, err := w.rd.PoolGet(r.Context(), id); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (w *Web) seatSnapshot(r *http.Request, id int64) any {
	s, err := w.rd.SeatGet(r.Context(), id)
	if err != nil {
		return nil
	}
	return s
}

// codeSnapshot is a code without the code itself (the hint names it).
func (w *Web) codeSnapshot(r *http.Request, code string) any {
	norm, err := codes.Normalize(code)
	if err != nil {
		return nil
	}
	c, err := w.rd.CodeByLookup(r.Context(), norm, false)
	if err != nil {
		return nil
	}
	c.Display = ""
	return c
}
