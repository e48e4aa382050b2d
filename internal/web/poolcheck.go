package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/model"
)

// PoolChecker runs a pool's "test connection" (its provider's Check) as a
// job and reads the answer back; jobs.Queue is one (app wires it). The console never
// calls a provider inside a request.
type PoolChecker interface {
	CheckPool(ctx context.Context, poolID int64) (int64, error)
	CheckResult(ctx context.Context, jobID int64) (model.PoolCheck, error)
}

// SetChecker wires the job queue that runs pool checks (app does, once the
// queue exists); without it "test connection" answers 503.
func (w *Web) SetChecker(c PoolChecker) { w.checker = c }

type poolCheckData struct {
	Kind, Page string
	Pool       model.Pool
	Answer     model.PoolCheck
	// Refresh > 0: no answer yet, the page reloads every Refresh seconds.
	Refresh int
}

// poolCheckRefresh is how often, in seconds, a check's page reloads while
// the job runs.
const poolCheckRefresh = 2

// poolCheck enqueues a check of the pool and redirects to its answer.
func (w *Web) poolCheck(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		p, ok := w.poolFor(rw, r, kind)
		if !ok {
			return
		}
		if w.checker == nil {
			w.renderError(rw, r, http.StatusServiceUnavailable, w.lang(r).T("poolcheck.unavailable"))
			return
		}
		httpx.NoteOf(r).Target = "pool=" + strconv.FormatInt(p.ID, 10)
		job, err := w.checker.CheckPool(r.Context(), p.ID)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		http.Redirect(rw, r, "/admin/"+kind+"s/"+strconv.FormatInt(p.ID, 10)+"/check/"+strconv.FormatInt(job, 10), http.StatusSeeOther)
	}
}

// poolCheckPage shows a check's answer: "checking…" until the job ran.
func (w *Web) poolCheckPage(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		p, ok := w.poolFor(rw, r, kind)
		if !ok {
			return
		}
		job, err := strconv.ParseInt(r.PathValue("job"), 10, 64)
		if err != nil || job <= 0 || w.checker == nil {
			w.notFound(rw, r)
			return
		}
		a, err := w.checker.CheckResult(r.Context(), job)
		if errors.Is(err, model.ErrNoPoolCheck) || (err == nil && a.PoolID != p.ID) {
			w.notFound(rw, r)
			return
		}
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		d := &poolCheckData{Kind: kind, Page: r.URL.Path, Pool: *p, Answer: a}
		pg := w.newPage(r, "poolcheck.title", d)
		if a.State != model.PoolCheckOK && a.State != model.PoolCheckFailed {
			// Not answered yet: the page reloads itself (assets/app.js,
			// or the layout's refresh without scripts) until it is.
			d.Refresh, pg.Refresh = poolCheckRefresh, poolCheckRefresh
		}
		w.write(rw, r, http.StatusOK, "poolcheck", pg)
	}
}
