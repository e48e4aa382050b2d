package api

import (
	"errors"
	"net/http"

	"github.com/berthhq/berth/internal/store"
)

// cursorParams reads the limit (def when absent or 0) and the opaque cursor of
// a listing that answers next_cursor: the pools, the seats and the queue.
func cursorParams(r *http.Request, def int) (limit int, cursor string, err error) {
	if limit, err = intParam(r, "limit", def); err != nil {
		return 0, "", err
	}
	if limit == 0 {
		limit = def
	}
	return limit, r.URL.Query().Get("cursor"), nil
}

// cursorError tells a client that sent a cursor it was not given.
func cursorError(err error) error {
	if errors.Is(err, store.ErrBadCursor) {
		return badRequest("cursor: pass the next_cursor of the previous page unchanged")
	}
	return err
}

// writePage answers a page of a listing: its items and the cursor of the
// next page, "" when this page is the last.
func writePage(w http.ResponseWriter, items any, next string) {
	writeJSON(w, 200, map[string]any{"items": items, "next_cursor": next})
}
