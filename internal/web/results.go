package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/integrity"
)

// Post/redirect/get: every state-changing console action answers 303 See
// Other to a GET page, so reloading the page never repeats the action.
// What the action's answer must show once (its message, the codes just
// generated, a bulk result) waits in results, a per-process one-time
// store keyed by a random id in the redirect's URL, readable once and only
// by the user who acted, for resultTTL.

// resultTTL is how long an action's result waits to be shown.
const resultTTL = 5 * time.Minute

// maxResults bounds the store: past it the oldest waiting result goes.
const maxResults = 10000

// result is what an action shows once on the page it redirects to.
type result struct {
	user    int64
	expires time.Time
	Flash   []flash
	// Codes and Batch are the codes just generated and their batch.
	Codes []string
	Batch string
	Bulk  *bulkView
	// Repair is an integrity repair's outcome.
	Repair *integrity.RepairResult
}

// results is the one-time store of actions' results.
type results struct {
	mu    sync.Mutex
	items map[string]*result
	order []string // ids, oldest first
}

// put keeps res for user and returns its id.
func (s *results) put(user int64, res *result, now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	res.user, res.expires = user, now.Add(resultTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.items == nil {
		s.items = map[string]*result{}
	}
	// Drop what expired or is past the bound, oldest first.
	for len(s.order) > 0 {
		old, ok := s.items[s.order[0]]
		if ok && len(s.items) < maxResults && now.Before(old.expires) {
			break
		}
		delete(s.items, s.order[0])
		s.order = s.order[1:]
	}
	s.items[id] = res
	s.order = append(s.order, id)
	return id
}

// take returns the result id holds for user and forgets it; nil when
// none, when expired or when another user's.
func (s *results) take(user int64, id string, now time.Time) *result {
	if id == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, ok := s.items[id]
	if !ok || res.user != user {
		return nil
	}
	delete(s.items, id)
	if now.After(res.expires) {
		return nil
	}
	return res
}

// resultParam is the query parameter of the redirect that names a result.
const resultParam = "done"

// done ends a successful action: it keeps res for the signed-in user and
// answers 303 to page (a console path) with query, plus the result's id.
func (w *Web) done(rw http.ResponseWriter, r *http.Request, page string, query url.Values, res *result) {
	u, _ := auth.FromContext(r.Context()) // the guard's: no second session read
	if query == nil {
		query = url.Values{}
	}
	query.Set(resultParam, w.results.put(u.ID, res, time.Now()))
	http.Redirect(rw, r, page+"?"+query.Encode(), http.StatusSeeOther)
}

// taken returns the result the GET request's URL names, once; an empty
// result when none.
func (w *Web) taken(r *http.Request) *result {
	id := r.URL.Query().Get(resultParam)
	if r.Method != http.MethodGet || id == "" {
		return &result{}
	}
	u, ok := auth.FromContext(r.Context())
	if !ok {
		return &result{}
	}
	if res := w.results.take(u.ID, id, time.Now()); res != nil {
		return res
	}
	return &result{}
}
