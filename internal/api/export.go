package api

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strings"
)

// exportChunk is how many rows a whole-listing CSV export reads at a time
// (keysetChunks). It stays below every store listing's own cap
// (store.CodeMaxLimit, store.AuditMaxLimit): a chunk cut short by the
// store would end the export early.
const exportChunk = 5000

// wantsCSV reports whether a listing is asked for as CSV: format=csv or
// an Accept naming text/csv.
func wantsCSV(r *http.Request) bool {
	return r.URL.Query().Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv")
}

// wholeExport reports whether a CSV export should hold every matching
// row: the caller gave no limit (absent or 0). With a limit it is one page,
// as the JSON listing answers it.
func wholeExport(r *http.Request) bool {
	v := r.URL.Query().Get("limit")
	return v == "" || v == "0"
}

// keysetChunks reads a listing ordered by id a chunk at a time: read gets
// the id the previous chunk ended on (from, the caller's start for the
// first) and how many rows to read, and answers them in the listing's
// order (after from for an ascending listing, before it for a descending
// one). It answers nil once a chunk came back short.
func keysetChunks[T any](from int64, read func(from int64, n int) ([]T, error), id func(T) int64) func() ([]T, error) {
	done := false
	return func() ([]T, error) {
		if done {
			return nil, nil
		}
		items, err := read(from, exportChunk)
		if err != nil {
			return nil, err
		}
		if len(items) < exportChunk {
			done = true
		} else {
			from = id(items[len(items)-1])
		}
		return items, nil
	}
}

// onePage gives items as the only chunk: a CSV export of one page.
func onePage[T any](items []T) func() ([]T, error) {
	return func() ([]T, error) {
		page := items
		items = nil
		return page, nil
	}
}

// writeCSV answers a listing as a CSV file named filename: the header row,
// then each chunk next gives (until it gives none) as rows, written and
// flushed to the client before the next chunk is read, so memory holds one
// chunk whatever the listing's length.
//
// The headers go out with the first chunk: an error reading it is still
// answered as problem+json. An error after that cannot be: the 200 and
// part of the file are on the wire. writeCSV returns it all the same, and
// the API's error path (wrap) sees that the answer has begun, logs the
// error and aborts the response (http.ErrAbortHandler): the connection is
// cut (HTTP/1.1 without its last chunk, HTTP/2 with the stream reset), so
// the client sees a broken transfer, never a file that ends cleanly with
// rows missing.
func writeCSV[T any](w http.ResponseWriter, filename string, header []string, next func() ([]T, error), row func(T) []string) error {
	cw := csv.NewWriter(w)
	rc := http.NewResponseController(w)
	cw.Write(header)
	for first := true; ; first = false {
		items, err := next()
		if err != nil {
			return err
		}
		if first {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
		}
		for _, it := range items {
			cw.Write(row(it))
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if len(items) == 0 {
			return nil
		}
	}
}
