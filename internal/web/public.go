package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// publicData is the data of the redeem and status pages.
type publicData struct {
	Email, Code string
	Error       string
	Done        string
	View        *statusView
}

// statusView is a user's seat as the status page shows it.
type statusView struct {
	Email, Code string
	S           alloc.SeatStatus
}

// publicForm reads the email and code of a public form (its route counts
// against the per-address limit before it runs). It answers the request
// itself when it returns false.
func (w *Web) publicForm(rw http.ResponseWriter, r *http.Request, name, titleKey string) (*publicData, bool) {
	l := w.lang(r)
	r.Body = http.MaxBytesReader(rw, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		w.render(rw, r, http.StatusBadRequest, name, titleKey, &publicData{Error: l.T("err.form")})
		return nil, false
	}
	d := &publicData{Email: strings.TrimSpace(r.PostForm.Get("email")), Code: strings.TrimSpace(r.PostForm.Get("code"))}
	if d.Email == "" || d.Code == "" {
		d.Error = l.T("public.missing")
		w.render(rw, r, http.StatusUnprocessableEntity, name, titleKey, d)
		return nil, false
	}
	return d, true
}

// blankForm serves a public page (name, titled titleKey) with its form empty.
func (w *Web) blankForm(name, titleKey string) func(http.ResponseWriter, *http.Request) {
	return func(rw http.ResponseWriter, r *http.Request) {
		w.render(rw, r, http.StatusOK, name, titleKey, &publicData{})
	}
}

func (w *Web) redeem(rw http.ResponseWriter, r *http.Request) {
	d, ok := w.publicForm(rw, r, "redeem", "redeem.title")
	if !ok {
		return
	}
	l := w.lang(r)
	st, err := w.svc.Redeem(r.Context(), d.Email, d.Code, "public")
	if err != nil {
		status, msg := w.describe(r, err)
		d.Error = msg
		w.render(rw, r, status, "redeem", "redeem.title", d)
		return
	}
	d.View = &statusView{Email: d.Email, Code: d.Code, S: st}
	switch st.State {
	case model.TeamSeatQueued:
		d.Done = l.T("redeem.done_queued", st.Position)
		if st.Why != nil && st.Why.Removing != "" {
			// Not full: the team is still taking the user out.
			d.Done = l.T("redeem.wait_removal", st.Why.Removing, st.Position)
		}
	default:
		d.Done = l.T("redeem.done")
	}
	w.render(rw, r, http.StatusOK, "redeem", "redeem.title", d)
}

// status looks a seat up. Email and code travel in a POST body, never in
// the address, so they stay out of logs and browser history.
func (w *Web) status(rw http.ResponseWriter, r *http.Request) {
	d, ok := w.publicForm(rw, r, "status", "status.title")
	if !ok {
		return
	}
	w.showStatus(rw, r, d, http.StatusOK)
}

func (w *Web) showStatus(rw http.ResponseWriter, r *http.Request, d *publicData, okStatus int) {
	st, err := w.svc.Status(r.Context(), d.Email, d.Code)
	if err != nil {
		status, msg := w.describe(r, err)
		if d.Error == "" {
			d.Error = msg
		}
		d.Done = ""
		w.render(rw, r, status, "status", "status.title", d)
		return
	}
	d.View = &statusView{Email: d.Email, Code: d.Code, S: st}
	w.render(rw, r, okStatus, "status", "status.title", d)
}

// move asks alloc to move the user to another team (换车) and shows the
// status again with what happened.
func (w *Web) move(rw http.ResponseWriter, r *http.Request) {
	d, ok := w.publicForm(rw, r, "status", "status.title")
	if !ok {
		return
	}
	res, err := w.svc.Rebind(r.Context(), d.Email, d.Code, "public")
	status := http.StatusOK
	if err != nil {
		status, d.Error = w.describe(r, err)
	} else {
		d.Done = w.moveMessage(r, res)
	}
	w.showStatus(rw, r, d, status)
}

// moveMessage words a move's result in the page's language. alloc's
// message is English; the known ones are told in the catalogue's words.
func (w *Web) moveMessage(r *http.Request, res alloc.RebindResult) string {
	l := w.lang(r)
	how := l.T("move.paid", res.RebindCount, res.RebindLimit)
	if res.Free {
		how = l.T("move.free")
	}
	switch {
	case strings.HasPrefix(res.Message, "moving you to "):
		return l.T("move.placed", res.Pool, how)
	case strings.HasPrefix(res.Message, "no other team has room"):
		return l.T("move.queued", res.Position, how)
	case strings.HasPrefix(res.Message, "a move is already in progress"):
		return l.T("move.already")
	case strings.HasPrefix(res.Message, "you are waiting for a seat"):
		return l.T("move.waiting", res.Position)
	}
	if l == en {
		return res.Message
	}
	return l.T("move.done")
}

// describe turns an error from alloc or the store into a status and a
// message in plain words. Anything unexpected is logged and shown as a
// generic failure with the request id: never internal detail.
func (w *Web) describe(r *http.Request, err error) (int, string) {
	l := w.lang(r)
	kind, status := httpx.ErrorStatus(err) // the status the API answers too
	if kind == alloc.KindInternal {
		w.log.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "err", err)
		return http.StatusInternalServerError, l.T("err.internal", requestID(r))
	}
	return status, refusalText(l, err)
}

// refusalText says a refusal in the reader's language.
func refusalText(l lang, err error) string {
	var le *alloc.LimitError
	var re *alloc.RateError
	switch {
	case errors.As(err, &re):
		return l.T("err.rate", int(re.RetryAfter.Seconds()+0.999))
	case errors.As(err, &le):
		return l.T("err.limit", le.Count, le.Limit)
	case errors.Is(err, alloc.ErrCodeNotValid):
		return l.T("err.code_not_valid")
	case errors.Is(err, alloc.ErrCodeDisabled):
		return l.T("err.code_disabled")
	case errors.Is(err, alloc.ErrCodeExpired):
		return l.T("err.code_expired")
	case errors.Is(err, alloc.ErrCodeUsedUp):
		return l.T("err.code_used_up")
	case errors.Is(err, alloc.ErrMoveInProgress):
		return l.T("err.move_in_progress")
	case errors.Is(err, alloc.ErrNoSeat):
		return l.T("err.no_seat")
	case errors.Is(err, alloc.ErrInvalid):
		return l.T("err.invalid", strings.TrimPrefix(err.Error(), alloc.ErrInvalid.Error()+": "))
	case errors.Is(err, store.ErrNotFound):
		return l.T("err.not_found")
	}
	return l.T("err.conflict")
}
