package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/internal/adminclient"
	"github.com/berthhq/berth/internal/store"
)

const backupUsage = "backup FILE [--db DSN]: a consistent copy of the running server's SQLite database (not the key: keep <db>.key with it)"

// pgDumpHint is the documented PostgreSQL backup (docs/operations.md).
const pgDumpHint = "berth backup copies SQLite databases; back up PostgreSQL with its own tools:\n" +
	"  pg_dump --format=custom --file=berth.dump \"$BERTH_DB\"\n" +
	"and keep the key (BERTH_SECRET_KEY) with the dump (docs/operations.md)"

// sqliteMagic opens every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// runBackup asks the running server for a copy of its database (GET
// /api/v1/backup): only the server may open a SQLite database it serves
// (store/lock.go), and VACUUM INTO there takes a consistent copy while it
// works. The copy is written to FILE.partial (mode 0600), checked to be a
// whole SQLite file, synced and renamed to FILE; an existing FILE is
// refused. --db only tells the engine: PostgreSQL is refused with the
// pg_dump command.
func runBackup(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("backup", errOut)
	base, token := clientFlags(fs)
	db := fs.String("db", envOr("BERTH_DB", "berth.db"), "the server's database (a file path, sqlite:PATH or postgres://…): only its engine is read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"backup needs one FILE to write"}
	}
	if d, _ := store.ParseDSN(*db); d == store.Postgres {
		return fmt.Errorf("%s", pgDumpHint)
	}
	file := fs.Arg(0)
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("%s exists; name a new file", file)
	}
	c, err := clientFrom(base, token)
	if err != nil {
		return err
	}
	tmp := file + ".partial"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// The answer carries Content-Length: a copy cut short fails here.
	if err := c.do(ctx, "GET", "/api/v1/backup", "", nil, adminclient.Raw{W: f}); errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the copy was cut short (the server or the connection stopped); nothing was written: %w", err)
	} else if err != nil {
		return err
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head, sqliteMagic) {
		return fmt.Errorf("the server's answer is not a SQLite database")
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return err
	}
	done = true
	if d, err := os.Open(filepath.Dir(file)); err == nil {
		d.Sync()
		d.Close()
	}
	fmt.Fprintf(out, "backup written to %s (%d bytes)\n", file, fi.Size())
	fmt.Fprintln(errOut, "the copy does not hold the key: keep <db>.key (or BERTH_SECRET_KEY) with it (docs/operations.md)")
	return nil
}
