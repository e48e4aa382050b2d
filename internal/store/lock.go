package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrInUse is what a *InUseError matches with errors.Is.
var ErrInUse = errors.New("database in use by another process")

// InUseError refuses to open a SQLite database another process holds.
type InUseError struct {
	Path string
	PID  int // 0 when the holder did not say
}

func (e *InUseError) Error() string {
	pid := "pid unknown"
	if e.PID > 0 {
		pid = "pid " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("database %s is in use by another berth process (%s); stop it first", e.Path, pid)
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// On SQLite one process owns the database: Open takes an exclusive lock on
// the side file <db>.lock (flock, lock_unix.go) and holds it until Close,
// so a second berth (serve, demo, migrate, keys) on the same file refuses
// to start instead of running beside the first. The kernel drops the lock
// when the process ends, however it ends (kill -9 included), so the next
// start never waits. A side file, not the database itself: SQLite takes
// its own POSIX (fcntl) locks on the database, and on some systems (NFS)
// flock is emulated with those.
//
// Stores opened on the same file by one process (tests) share the lock;
// only the first, which took it, is the owner (SoleOwner).
type fileLock struct {
	path string
	f    *os.File
	refs int
}

var (
	fileLocksMu sync.Mutex
	fileLocks   = map[string]*fileLock{}
)

// lockSQLite takes (or shares) this process's lock on the SQLite database at
// path. owner is true when this call took it: no other process has the
// database open, so whatever the database says is running belongs to a
// process that is gone.
func lockSQLite(path string) (release func(), owner bool, err error) {
	if !haveFlock || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return func() {}, false, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, false, err
	}
	lockPath := abs + ".lock"
	fileLocksMu.Lock()
	defer fileLocksMu.Unlock()
	l := fileLocks[lockPath]
	if l == nil {
		f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("lock database %s: %w", path, err)
		}
		held, err := flockExclusive(f)
		if err != nil {
			f.Close()
			return nil, false, fmt.Errorf("lock database %s: %w", path, err)
		}
		if held {
			// Another process holds it; it wrote its pid after taking it.
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			f.Close()
			return nil, false, &InUseError{Path: path, PID: pid}
		}
		if err := f.Truncate(0); err == nil {
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		l = &fileLock{path: lockPath, f: f}
		fileLocks[lockPath] = l
		owner = true
	}
	l.refs++
	var once sync.Once
	return func() {
		once.Do(func() {
			fileLocksMu.Lock()
			defer fileLocksMu.Unlock()
			if l.refs--; l.refs == 0 {
				delete(fileLocks, l.path)
				// The file stays: removing it would let a process that
				// opened it just before lock a file nobody else sees.
				// Closing it releases the lock.
				l.f.Close()
			}
		})
	}, owner, nil
}

// SoleOwner reports that this Store took the SQLite database's lock when it
// opened: no other process has the database open, so jobs the database shows
// running were left by a process that ended (jobs.Queue.Start retries them
// at once). False on PostgreSQL, where replicas share the database, and for
// a second Store a process opened on the same file.
func (s *Store) SoleOwner() bool { return s.owner }
