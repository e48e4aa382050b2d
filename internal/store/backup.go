package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrBackupPostgres refuses Backup on PostgreSQL, whose own tools
// (pg_dump, pg_restore) make the copy: docs/operations.md.
var ErrBackupPostgres = errors.New("berth backs up SQLite only; on PostgreSQL use pg_dump (docs/operations.md)")

// Backup writes a consistent copy of a SQLite database to w while the
// database keeps serving (OpenBackup) and returns the number of bytes
// written.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	b, err := s.OpenBackup(ctx)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	n, err := io.Copy(w, b)
	if err != nil {
		return n, fmt.Errorf("backup: send the copy: %w", err)
	}
	return n, nil
}

// BackupFile is a finished copy of the database, open for reading; Close
// removes it.
type BackupFile struct {
	*os.File
	Size int64 // bytes, known before the first is read (Content-Length)
	dir  string
}

// Close closes and removes the copy.
func (b *BackupFile) Close() error {
	err := b.File.Close()
	os.RemoveAll(b.dir)
	return err
}

// OpenBackup makes a consistent copy of a SQLite database while it keeps
// serving. VACUUM INTO writes the copy, as of one read transaction, to a
// private temporary file beside the database (the same disk, not /tmp,
// which may be small); writers go on (WAL) during the copy. The copy holds
// sealed data only: the key stays where it is (<db>.key or
// BERTH_SECRET_KEY) and must be kept with the copy (docs/operations.md).
// PostgreSQL answers ErrBackupPostgres.
func (s *Store) OpenBackup(ctx context.Context) (*BackupFile, error) {
	if s.Dialect != SQLite {
		return nil, ErrBackupPostgres
	}
	_, target := ParseDSN(s.DSN)
	dir, err := os.MkdirTemp(filepath.Dir(target), ".berth-backup-")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	path := filepath.Join(dir, "copy.db")
	var f *os.File
	var fi os.FileInfo
	if err = s.BackupTo(ctx, path); err == nil {
		if f, err = os.Open(path); err == nil {
			if fi, err = f.Stat(); err != nil {
				f.Close()
			}
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &BackupFile{File: f, Size: fi.Size(), dir: dir}, nil
}

// BackupTo writes a consistent copy of a SQLite database to path, a file
// that must not exist yet (VACUUM INTO refuses to overwrite). The copy is
// created with mode 0600 like the database.
func (s *Store) BackupTo(ctx context.Context, path string) error {
	if s.Dialect != SQLite {
		return ErrBackupPostgres
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s exists", path)
	}
	// An empty private file first: VACUUM INTO writes into an empty file
	// it finds, keeping its mode, where it would create one 0644.
	if err := createPrivate(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// A connection of its own: the read pool is query_only, which
	// refuses VACUUM INTO, and the write pool's one connection would hold
	// every writer back for the whole copy. VACUUM INTO reads in one read
	// transaction, which in WAL mode runs beside the writer.
	_, target := ParseDSN(s.DSN)
	db, err := sql.Open("sqlite", "file:"+target+"?_pragma=busy_timeout(10000)")
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup: VACUUM INTO: %w", err)
	}
	return nil
}
