package processtest

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// berthProc is one `berth serve` child process, as the crash and storm
// tests (crashServer) and the torture test's replicas (tReplica) run it.
type berthProc struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has ended and its log is closed
	urlc    chan string   // the address it says it serves on
	logPath string
}

// readyClient asks a starting server whether it is ready.
var readyClient = &http.Client{Timeout: 3 * time.Second}

// spawnBerth runs `bin serve` on the database db with this test process's
// environment, less its BERTH_ settings, plus env; the server's stdout and
// stderr are appended to logPath. onExit (nil: none) runs once the process
// has ended, with the log still open, before exited is closed.
func spawnBerth(bin, db, logPath string, env []string, onExit func(log io.Writer, state *os.ProcessState)) (*berthProc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--db", db)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BERTH_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "BERTH_SHUTDOWN_DRAIN=0") // stop at once; env may say otherwise
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &berthProc{cmd: cmd, exited: make(chan struct{}), urlc: make(chan string, 1), logPath: logPath}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if rest, ok := strings.CutPrefix(line, "berth serving on "); ok {
				select {
				case p.urlc <- strings.Fields(rest)[0]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		if onExit != nil {
			onExit(logf, cmd.ProcessState)
		}
		logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// ready waits until the process says where it serves (within startWithin)
// and its /readyz answers 200 (within readyWithin after that), and returns
// its address. It fails at once when the process ends first; it leaves a
// process that is slow to start running (the caller kills or stops it).
func (p *berthProc) ready(startWithin, readyWithin time.Duration) (string, error) {
	var u string
	select {
	case u = <-p.urlc:
	case <-p.exited:
		return "", fmt.Errorf("berth serve exited while starting (see %s)", p.logPath)
	case <-time.After(startWithin):
		return "", fmt.Errorf("berth serve did not start within %s (see %s)", startWithin, p.logPath)
	}
	for deadline := time.Now().Add(readyWithin); ; time.Sleep(20 * time.Millisecond) {
		resp, err := readyClient.Get(u + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return u, nil
			}
		}
		select {
		case <-p.exited:
			return "", fmt.Errorf("berth serve exited before it was ready (see %s)", p.logPath)
		default:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s/readyz not ready within %s: %v", u, readyWithin, err)
		}
	}
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	Query(query string, args ...any) (*sql.Rows, error)
}

// eachRow runs query on q and calls row on each row of the answer (row
// scans it), stopping at the first error.
func eachRow(q querier, query string, row func(*sql.Rows) error) error {
	rows, err := q.Query(query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
