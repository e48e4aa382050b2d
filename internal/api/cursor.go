package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/berthhq/berth/internal/store"
)

// cursorParams reads the limit (def when absent or 0) and the opaque cursor of
// a listing: every listing answers next_cursor.
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

// idKey is where a page of a listing ordered by id ends: its last row's
// id. Clients see it only as the opaque next_cursor.
type idKey struct {
	ID int64 `json:"id"`
}

// encodeIDCursor is the next_cursor of a page whose last row has id.
func encodeIDCursor(id int64) string {
	b, _ := json.Marshal(idKey{ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

// idPageParams reads the limit (def when absent or 0, at most max when max
// > 0) and where the page starts of a listing ordered by id: the id in the
// cursor when one is given, otherwise the id in the query parameter legacy
// (before or after, as clients paged before next_cursor); 0 = the first page.
func idPageParams(r *http.Request, def, max int, legacy string) (limit int, from int64, err error) {
	limit, cursor, err := cursorParams(r, def)
	if err != nil {
		return 0, 0, err
	}
	if max > 0 {
		limit = min(limit, max)
	}
	if cursor == "" {
		if legacy == "" {
			return limit, 0, nil
		}
		n, err := intParam(r, legacy, 0)
		return limit, int64(n), err
	}
	var k idKey
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || json.Unmarshal(b, &k) != nil || k.ID <= 0 {
		return 0, 0, cursorError(store.ErrBadCursor)
	}
	return limit, k.ID, nil
}

// idPage cuts a page fetched with limit+1 rows (of a store listing that
// answers at most max rows, 0 = no bound) to limit rows and gives the
// cursor of the next page: "" when no rows follow. A page cut short by max
// gets a cursor too; the next page may then be empty.
func idPage[T any](items []T, limit, max int, id func(T) int64) ([]T, string) {
	if len(items) > limit {
		items = items[:limit]
	} else if len(items) < limit || limit != max || limit == 0 {
		return items, ""
	}
	return items, encodeIDCursor(id(items[len(items)-1]))
}

// afterID drops the rows of a whole listing ordered by id up to and
// including the id a page starts after (0 = none): a page of a listing
// that is read whole, such as the users and their tokens.
func afterID[T any](items []T, after int64, id func(T) int64) []T {
	i := 0
	for i < len(items) && id(items[i]) <= after {
		i++
	}
	return items[i:]
}
