package api

import (
	"net/http"
	"strconv"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/upload"
)

// BatchItem is one file's result in a batch import.
type BatchItem struct {
	Account  string `json:"account"`
	File     string `json:"file,omitempty"`
	Status   string `json:"status"`
	Pool     string `json:"pool,omitempty"`
	Position int    `json:"position,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Why is Reason as data (placed, queued), for readers of any language.
	Why *model.Why `json:"why,omitempty"`
	// WouldFit: queued, the single changes that would place it now,
	// cheapest first.
	WouldFit []model.FitChange `json:"would_fit,omitempty"`
	Error    string            `json:"error,omitempty"`
}

// BatchResponse answers a batch import, items in file order.
type BatchResponse struct {
	Placed   int         `json:"placed"`
	Queued   int         `json:"queued"`
	Rejected int         `json:"rejected"`
	Items    []BatchItem `json:"items"`
}

func (s *Server) accountBatch(w http.ResponseWriter, r *http.Request) error {
	b, err := upload.Decode(w, r, s.Limits)
	if err != nil {
		return err
	}
	files := make([]alloc.AccountFile, len(b.Files))
	parts := [][]byte{[]byte(b.Script), []byte(b.Strategy)}
	for _, l := range b.Labels {
		parts = append(parts, []byte("label="+l))
	}
	for i, f := range b.Files {
		files[i] = alloc.AccountFile(f)
		parts = append(parts, []byte(f.ID), []byte(f.FileName), f.Data)
	}
	return s.idempotent(w, r, requestHash(parts...), func() (int, any, error) {
		resp, err := s.importAccounts(r, b, files)
		return http.StatusOK, resp, err
	})
}

// importAccounts imports a decoded batch and tells each file's outcome.
func (s *Server) importAccounts(r *http.Request, b upload.Batch, files []alloc.AccountFile) (BatchResponse, error) {
	labels, err := alloc.ParseLabels(b.Labels)
	if err != nil {
		return BatchResponse{}, err
	}
	outs, err := s.svc.ImportAccounts(r.Context(), alloc.ImportParams{Script: b.Script, Strategy: b.Strategy, Labels: labels, Files: files, Actor: actor(r)})
	if err != nil {
		return BatchResponse{}, err
	}
	resp := BatchResponse{Items: make([]BatchItem, len(outs))}
	for i, o := range outs {
		it := BatchItem{Account: o.Member.ExternalID, File: b.Files[i].FileName, Status: o.Status, Pool: o.Pool, Position: o.Position}
		if it.Account == "" {
			it.Account = b.Files[i].ID
		}
		switch o.Status {
		case alloc.OutcomeRejected:
			it.Error = o.Reason
			resp.Rejected++
		case alloc.OutcomeQueued:
			it.Reason, it.Why, it.WouldFit = o.Reason, o.Why, queuedWouldFit(o.WouldFit)
			resp.Queued++
		default:
			it.Reason, it.Why = o.Reason, o.Why
			resp.Placed++
		}
		resp.Items[i] = it
	}
	noteAudit(r, map[string]any{"script": b.Script, "strategy": b.Strategy, "labels": labels, "files": len(b.Files),
		"placed": resp.Placed, "queued": resp.Queued, "rejected": resp.Rejected})
	return resp, nil
}

func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest(name + " must be a non-negative integer")
	}
	return n, nil
}

// kindParam reads the optional kind filter of a listing.
func kindParam(r *http.Request) (model.Kind, error) {
	kind := model.Kind(r.URL.Query().Get("kind"))
	if kind != "" && !kind.Valid() {
		return "", badRequest("kind must be server or team")
	}
	return kind, nil
}

func (s *Server) accountList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, after, err := idPageParams(r, 1000, 0, "")
	if err != nil {
		return err
	}
	items, err := s.rd.AccountList(r.Context(), store.AccountFilter{Script: q.Get("script"), Pool: q.Get("pool"), Limit: limit + 1, AfterID: after})
	if err != nil {
		return err
	}
	items, next := idPage(items, limit, 0, func(a store.Account) int64 { return a.MemberID })
	writePage(w, items, next)
	return nil
}

func (s *Server) seatList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, before, err := idPageParams(r, 1000, 100000, "")
	if err != nil {
		return err
	}
	f := store.SeatFilter{Limit: limit + 1, BeforeID: before}
	member := q.Get("member")
	if member == "" {
		member = q.Get("email")
	}
	if member != "" {
		kind := model.KindServer
		if q.Get("email") != "" {
			kind = model.KindTeam
		}
		m, err := s.rd.MemberGetByExternal(r.Context(), kind, member)
		if err != nil {
			writePage(w, []model.Seat{}, "")
			return nil
		}
		f.MemberID = m.ID
	}
	if pool := q.Get("pool"); pool != "" {
		p, err := s.rd.PoolGetByName(r.Context(), pool)
		if err != nil {
			return err
		}
		f.PoolID = p.ID
	}
	if st := q.Get("state"); st != "" {
		f.States = []model.SeatState{model.SeatState(st)}
	}
	items, err := s.rd.SeatList(r.Context(), f)
	if err != nil {
		return err
	}
	items, next := idPage(items, limit, 0, func(s model.Seat) int64 { return s.ID })
	writePage(w, items, next)
	return nil
}

func (s *Server) seatRelease(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return badRequest("seat id must be an integer")
	}
	if err := s.svc.Release(r.Context(), id, actor(r)); err != nil {
		return err
	}
	seat, err := s.rd.SeatGet(r.Context(), id)
	if err != nil {
		return err
	}
	writeAccepted(w, s.seatFollow(r.Context(), seat), seat)
	return nil
}

func (s *Server) queueList(w http.ResponseWriter, r *http.Request) error {
	kind, err := kindParam(r)
	if err != nil {
		return err
	}
	limit, cursor, err := cursorParams(r, 10000)
	if err != nil {
		return err
	}
	items, next, err := s.rd.QueuePage(r.Context(), kind, cursor, limit)
	if err != nil {
		return cursorError(err)
	}
	withFit, err := s.withWouldFit(r, items)
	if err != nil {
		return err
	}
	writePage(w, withFit, next)
	return nil
}

func (s *Server) queueCancel(w http.ResponseWriter, r *http.Request) error {
	kind := model.Kind(r.PathValue("kind"))
	if !kind.Valid() {
		return badRequest("kind must be server or team")
	}
	if err := s.svc.CancelQueued(r.Context(), kind, r.PathValue("member"), actor(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) historyList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, before, err := idPageParams(r, 500, store.HistoryMaxLimit, "before")
	if err != nil {
		return err
	}
	items, err := s.rd.HistoryList(r.Context(), store.HistoryFilter{Member: q.Get("member"), Pool: q.Get("pool"),
		Action: q.Get("action"), BeforeID: before, Limit: limit + 1})
	if err != nil {
		return err
	}
	items, next := idPage(items, limit, store.HistoryMaxLimit, func(h model.HistoryEntry) int64 { return h.ID })
	writePage(w, items, next)
	return nil
}
