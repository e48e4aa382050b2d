package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// A drain's progress: after "drain" on a pool, the console shows how many
// of its members moved, wait for room (queued moves), are moving and
// failed, and how many seats the pool still holds. The page reads
// drainProgress's JSON every drainRefresh seconds (assets/app.js) and
// stops once nothing is pending; without scripts it reloads itself.

// drainRefresh is how often, in seconds, the progress page refreshes.
const drainRefresh = 3

// drainProgress is a drain's counts as the progress page and its JSON
// route show them.
type drainProgress struct {
	Pool   string           `json:"pool"`
	Status model.PoolStatus `json:"status"`
	Since  time.Time        `json:"since"`
	moveCounts
}

// moveCounts is the moves off a pool (or a migration's pools) since a
// start, and the seats left; a drain's and a migration's progress show it.
type moveCounts struct {
	Moved      int `json:"moved"`
	Waiting    int `json:"waiting"`
	InProgress int `json:"in_progress"`
	Failed     int `json:"failed"`
	Cancelled  int `json:"cancelled"`
	// Remaining is the seats the pool still holds.
	Remaining int `json:"remaining"`
	// Done: no move is pending and no seat of the pool is being released.
	Done bool `json:"done"`
}

// add adds o's counts to c; c is done once both are.
func (c *moveCounts) add(o moveCounts) {
	c.Moved += o.Moved
	c.Waiting += o.Waiting
	c.InProgress += o.InProgress
	c.Failed += o.Failed
	c.Cancelled += o.Cancelled
	c.Remaining += o.Remaining
	c.Done = c.Done && o.Done
}

// poolMoves reads pool id's moves since since and the seats it still
// holds; it answers the pool as read last.
func (w *Web) poolMoves(ctx context.Context, id int64, since time.Time) (model.Pool, moveCounts, error) {
	c, err := w.rd.MoveCountsFromPool(ctx, id, since)
	if err != nil {
		return model.Pool{}, moveCounts{}, err
	}
	// Done once nothing is pending and the seats moved off are given back
	// (none releasing), so the seats left are final.
	releasing, err := w.rd.SeatList(ctx, store.SeatFilter{PoolID: id, States: []model.SeatState{model.SeatReleasing}, Limit: 1})
	if err != nil {
		return model.Pool{}, moveCounts{}, err
	}
	// The seats left are read last: once the moves are finished and their
	// old seats released (read in that order), the count is final.
	p, err := w.rd.PoolGet(ctx, id)
	if err != nil {
		return model.Pool{}, moveCounts{}, err
	}
	return p, moveCounts{Moved: c.Moved, Waiting: c.Waiting, InProgress: c.InProgress, Failed: c.Failed, Cancelled: c.Cancelled,
		Remaining: p.Used, Done: c.Pending() == 0 && len(releasing) == 0}, nil
}

type drainData struct {
	Kind    string
	ID      int64
	Refresh int
	drainProgress
}

// readDrain reads pool id's drain progress (kind must match) through the
// read view: the moves off its seats since it was set draining.
func (w *Web) readDrain(r *http.Request, kind string) (drainProgress, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return drainProgress{}, store.ErrNotFound
	}
	p, err := w.rd.PoolGet(r.Context(), id)
	if err != nil {
		return drainProgress{}, err
	}
	if string(p.Kind) != kind {
		return drainProgress{}, store.ErrNotFound
	}
	var since time.Time
	if p.Status == model.StatusDraining {
		since = p.StatusChangedAt
	}
	p, c, err := w.poolMoves(r.Context(), id, since)
	if err != nil {
		return drainProgress{}, err
	}
	return drainProgress{Pool: p.Name, Status: p.Status, Since: since, moveCounts: c}, nil
}

// drainPage shows a pool's drain progress; the drain action's result
// (its flash) lands here.
func (w *Web) drainPage(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		pr, err := w.readDrain(r, kind)
		if errors.Is(err, store.ErrNotFound) {
			w.notFound(rw, r)
			return
		}
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		d := &drainData{Kind: kind, ID: id, drainProgress: pr}
		p := w.newPage(r, "drain.title", d)
		p.Title = p.L.T("drain.title", pr.Pool)
		w.writeProgress(rw, r, "drain", p, &d.Refresh, pr.Done)
	}
}

// writeProgress writes a progress page (a drain's, a migration's) with the
// result of the action that led there; until done, the page refreshes
// itself every drainRefresh seconds (refresh is its data's Refresh).
func (w *Web) writeProgress(rw http.ResponseWriter, r *http.Request, name string, p *page, refresh *int, done bool) {
	p.Flash = w.taken(r).Flash
	if !done {
		*refresh, p.Refresh = drainRefresh, drainRefresh
	}
	w.write(rw, r, http.StatusOK, name, p)
}

// drainJSON answers a pool's drain progress as JSON, for the page's
// script.
func (w *Web) drainJSON(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		pr, err := w.readDrain(r, kind)
		w.writeProgressJSON(rw, r, "drain", pr, err)
	}
}

// writeProgressJSON answers a progress (what: "drain", "migration") read
// with err as JSON, for the page's script.
func (w *Web) writeProgressJSON(rw http.ResponseWriter, r *http.Request, what string, progress any, err error) {
	if errors.Is(err, store.ErrNotFound) {
		http.Error(rw, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	if err != nil {
		w.log.Error("web: "+what+" progress", "request_id", requestID(r), "err", err)
		http.Error(rw, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(progress)
}
