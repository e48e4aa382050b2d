package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// A migration from the console: the operator picks source pools on the
// servers or teams page ("Migrate selected"), sees the dry run's plan
// (alloc.Service.Migrate with dryRun: who goes where, who would wait for
// room, and why), confirms, and lands on a progress page that refreshes
// itself like a drain's (assets/app.js reads its JSON) until nothing is
// pending. A migration is known by its source pools and the instant it
// started (the progress URL holds both): its moves are the moves off those
// pools created since, which alloc records for each member it moves (the
// pools are draining from then on, so nothing else lands on them).

// migrateMax is the most source pools one migration takes.
const migrateMax = 100

// migratePlanRows is the most rows of a plan the page lists.
const migratePlanRows = 500

type migrateData struct {
	Kind  string
	Pools []model.Pool
	Plan  alloc.MigrationResult
	Items []alloc.MigrationPlanItem // the rows shown (at most migratePlanRows)
	More  int                       // rows not shown
}

// migrationPool is one source pool's progress.
type migrationPool struct {
	ID     int64            `json:"id"`
	Pool   string           `json:"pool"`
	Status model.PoolStatus `json:"status"`
	moveCounts
}

// migrationProgress is a migration's progress: its totals and its pools'.
type migrationProgress struct {
	Since time.Time `json:"since"`
	moveCounts
	Pools []migrationPool `json:"pools"`
}

type migrationData struct {
	Kind    string
	Query   string // ids and since, for the JSON route
	Refresh int
	migrationProgress
}

// migratePools reads the pools of kind named by ids (form values); ok is
// false once it answered the request (an error page or the pools page with
// a message).
func (w *Web) migratePools(rw http.ResponseWriter, r *http.Request, kind string, ids []string) ([]model.Pool, bool) {
	l := w.lang(r)
	if len(ids) == 0 {
		w.renderPools(rw, r, kind, nil, flash{"error", l.T("bulk.none_selected")})
		return nil, false
	}
	if len(ids) > migrateMax {
		w.renderPools(rw, r, kind, nil, flash{"error", l.T("bulk.too_many", migrateMax)})
		return nil, false
	}
	seen := map[int64]bool{}
	var pools []model.Pool
	for _, v := range ids {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			w.renderError(rw, r, http.StatusBadRequest, l.T("err.form"))
			return nil, false
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		p, err := w.rd.PoolGet(r.Context(), id)
		if err != nil || string(p.Kind) != kind {
			w.renderError(rw, r, http.StatusNotFound, l.T("err.page_not_found"))
			return nil, false
		}
		pools = append(pools, p)
	}
	return pools, true
}

func poolNames(pools []model.Pool) []string {
	names := make([]string, len(pools))
	for i, p := range pools {
		names[i] = p.Name
	}
	return names
}

func poolIDs(pools []model.Pool) []int64 {
	ids := make([]int64, len(pools))
	for i, p := range pools {
		ids[i] = p.ID
	}
	return ids
}

// migratePlan shows the dry run of moving every member off the pools
// selected (?ids=…) and the form that starts it.
func (w *Web) migratePlan(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		pools, ok := w.migratePools(rw, r, kind, r.URL.Query()["ids"])
		if !ok {
			return
		}
		plan, err := w.svc.Migrate(r.Context(), poolNames(pools), "", true, actor(r))
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		d := &migrateData{Kind: kind, Pools: pools, Plan: plan, Items: plan.Items}
		if len(d.Items) > migratePlanRows {
			d.Items, d.More = d.Items[:migratePlanRows], len(d.Items)-migratePlanRows
		}
		w.render(rw, r, http.StatusOK, "migrate", "migrate.title", d)
	}
}

// migrateStart starts the migration (the plan page's form) and redirects
// to its progress.
func (w *Web) migrateStart(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !w.parseForm(rw, r) {
			return
		}
		pools, ok := w.migratePools(rw, r, kind, r.PostForm["ids"])
		if !ok {
			return
		}
		ids := poolIDs(pools)
		n := httpx.NoteOf(r)
		n.Target = "migration pools=" + joinIDs(ids)
		n.Before = pools // just read by migratePools
		// Its moves are created from now on (microseconds, as stored).
		since := time.Now().Truncate(time.Microsecond)
		res, err := w.svc.Migrate(r.Context(), poolNames(pools), "", false, actor(r))
		n.After = w.poolSnapshots(r, ids)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		l := w.lang(r)
		fl := []flash{{"ok", l.T("migrate.result", len(pools), res.Moving, res.Queued, res.Failed)}}
		shown := 0
		for _, it := range res.Items {
			if it.Status != alloc.MigrationFailed {
				continue
			}
			if shown++; shown > 20 {
				break
			}
			fl = append(fl, flash{"error", l.T("migrate.item_failed", it.Member, it.From, it.Reason)})
		}
		w.done(rw, r, "/admin/"+kind+"s/migration", migrationQuery(ids, since), &result{Flash: fl})
	}
}

// migrationQuery is a migration's progress query: its pools and start.
func migrationQuery(ids []int64, since time.Time) url.Values {
	q := url.Values{}
	for _, id := range ids {
		q.Add("ids", strconv.FormatInt(id, 10))
	}
	q.Set("since", strconv.FormatInt(since.UnixMicro(), 10))
	return q
}

// readMigration reads the progress of the migration the query names
// (?ids=…&since=…): per pool, the moves off it since the start and the
// seats it still holds.
func (w *Web) readMigration(r *http.Request, kind string) (migrationProgress, []int64, error) {
	q := r.URL.Query()
	us, err := strconv.ParseInt(q.Get("since"), 10, 64)
	if err != nil || us <= 0 || len(q["ids"]) == 0 || len(q["ids"]) > migrateMax {
		return migrationProgress{}, nil, store.ErrNotFound
	}
	pr := migrationProgress{Since: time.UnixMicro(us).UTC(), moveCounts: moveCounts{Done: true}, Pools: []migrationPool{}}
	var ids []int64
	seen := map[int64]bool{}
	for _, v := range q["ids"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return pr, nil, store.ErrNotFound
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		// The start comes with the query: the pool read last by poolMoves
		// is the only one needed, its kind checked there.
		p, c, err := w.poolMoves(r.Context(), id, pr.Since)
		if err != nil {
			return pr, nil, err
		}
		if string(p.Kind) != kind {
			return pr, nil, store.ErrNotFound
		}
		pr.Pools = append(pr.Pools, migrationPool{ID: id, Pool: p.Name, Status: p.Status, moveCounts: c})
		ids = append(ids, id)
		pr.add(c)
	}
	return pr, ids, nil
}

// migrationPage shows a migration's progress; starting one lands here.
func (w *Web) migrationPage(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		pr, ids, err := w.readMigration(r, kind)
		if errors.Is(err, store.ErrNotFound) {
			// The route exists; the migration the query names does not.
			w.renderError(rw, r, http.StatusNotFound, w.lang(r).T("err.page_not_found"))
			return
		}
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		d := &migrationData{Kind: kind, Query: migrationQuery(ids, pr.Since).Encode(), migrationProgress: pr}
		p := w.newPage(r, "migration.title", d)
		w.writeProgress(rw, r, "migration", p, &d.Refresh, pr.Done)
	}
}

// migrationJSON answers a migration's progress as JSON, for the page's
// script.
func (w *Web) migrationJSON(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		pr, _, err := w.readMigration(r, kind)
		w.writeProgressJSON(rw, r, "migration", pr, err)
	}
}
