package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/store"
)

// backupGet streams a consistent copy of the SQLite database
// (store.OpenBackup: VACUUM INTO a temporary file beside the database) as
// the answer. The server picks every path itself; the request names none.
// The copy holds sealed data only: the key is not in it
// (docs/operations.md). PostgreSQL answers 501 naming pg_dump. The answer
// carries Content-Length, so a copy cut short while streaming is a short
// body the client sees (berth backup refuses it), never a whole-looking one.
func (s *Server) backupGet(w http.ResponseWriter, r *http.Request) error {
	b, err := s.st.OpenBackup(r.Context())
	if errors.Is(err, store.ErrBackupPostgres) {
		return errStatus(http.StatusNotImplemented, err.Error())
	}
	if err != nil {
		return err
	}
	defer b.Close()
	h := w.Header()
	h.Set("Content-Type", "application/vnd.sqlite3")
	h.Set("Content-Length", strconv.FormatInt(b.Size, 10))
	h.Set("Content-Disposition", `attachment; filename="berth-`+time.Now().UTC().Format("20060102T150405Z")+`.db"`)
	w.WriteHeader(http.StatusOK)
	if n, err := io.Copy(w, b); err != nil {
		logOf(r).Warn("backup cut short", "bytes", n, "of", b.Size, "err", err, "request_id", requestID(r))
	}
	return nil
}
