package loadbench

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx", to create and drop the benchmark's database
)

// readyTimeout is how long a started server may take to answer /readyz.
const readyTimeout = 30 * time.Second

// server is a berth child process.
type server struct {
	url  string
	log  string // its stdout and stderr
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

// serverEnv is the environment of the child servers: the parent's without
// any BERTH_ setting (no Telegram, SMTP or tokens leak in), plus the
// admin token and password and the shared sealing key.
func serverEnv(token, password, key string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BERTH_") {
			env = append(env, kv)
		}
	}
	return append(env, "BERTH_ADMIN_TOKEN="+token, "BERTH_ADMIN_PASSWORD="+password, "BERTH_SECRET_KEY="+key)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newSecretKey returns BERTH_SECRET_KEY's format: base64 of 32 random bytes.
func newSecretKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// freeLoopbackPort asks the kernel for a free port on 127.0.0.1.
func freeLoopbackPort() (string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer runs `bin serve --listen 127.0.0.1:PORT --db dsn` with env,
// logging to logPath, and waits until it answers /readyz.
func startServer(ctx context.Context, bin, dsn string, env []string, logPath string) (*server, error) {
	addr, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--listen", addr, "--db", dsn)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s := &server{url: "http://" + addr, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls /readyz until it answers 200, the process exits, or
// readyTimeout passes.
func (s *server) waitReady(ctx context.Context) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/readyz", nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("berth server on %s exited before it was ready (%v); the end of its output:\n%s", s.url, s.err, tail(s.log, 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("berth server on %s was not ready within %s; the end of its output:\n%s", s.url, readyTimeout, tail(s.log, 20))
		}
	}
}

// describe says whether the server is still running and how its output
// ends, for an error report.
func (s *server) describe() string {
	state := "running"
	select {
	case <-s.done:
		state = fmt.Sprintf("exited (%v)", s.err)
	default:
	}
	return fmt.Sprintf("berth server on %s, %s; the end of its output:\n%s", s.url, state, tail(s.log, 15))
}

// stop asks the server to shut down (interrupt) and kills it if it has not
// exited within 10 seconds.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		s.cmd.Process.Kill()
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 {
		return "  (no output)"
	}
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + string(bytes.Join(lines, []byte("\n  ")))
}

// createDatabase makes a fresh database berth_bench_<random> on the
// PostgreSQL server of pgURL and returns its URL and a function that drops
// it. Repeated runs therefore never see each other's rows.
func createDatabase(ctx context.Context, pgURL string) (string, func() error, error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", nil, fmt.Errorf("--db: %v", err)
	}
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		return "", nil, err
	}
	name := "berth_bench_" + randomHex(6)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(cctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("creating database %s on %s: %w", name, u.Redacted(), err)
	}
	u.Path = "/" + name
	drop := func() error {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE (PostgreSQL 13+) ends connections a killed server left.
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
			return err
		}
		return nil
	}
	return u.String(), drop, nil
}

// target is the berth being measured: its replicas' URLs and admin token.
type target struct {
	urls    []string
	token   string
	desc    string    // for the report: database and replicas
	servers []*server // the servers started for the run (none with --url)
	close   func()
}

// startTarget starts cfg.Replicas servers on a fresh database (SQLite in a
// temp dir, or a fresh PostgreSQL database), one after the other so that
// only the first migrates.
func startTarget(ctx context.Context, cfg *Config) (_ *target, err error) {
	dir, err := os.MkdirTemp("", "berth-bench-")
	if err != nil {
		return nil, err
	}
	t := &target{token: "bench_" + randomHex(16)}
	var dropDB func() error
	t.close = func() {
		for _, s := range t.servers {
			s.stop()
		}
		if dropDB != nil {
			if err := dropDB(); err != nil {
				cfg.logf("dropping the benchmark database: %v", err)
			}
		}
		os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	dsn := filepath.Join(dir, "berth.db")
	t.desc = "SQLite"
	if cfg.DB != "" {
		if dsn, dropDB, err = createDatabase(ctx, cfg.DB); err != nil {
			return nil, err
		}
		t.desc = "PostgreSQL"
	}
	env := serverEnv(t.token, "bench-"+randomHex(12), newSecretKey())
	for i := range cfg.Replicas {
		s, err := startServer(ctx, cfg.ServerBin, dsn, env, filepath.Join(dir, fmt.Sprintf("server-%d.log", i+1)))
		if err != nil {
			return nil, err
		}
		t.urls = append(t.urls, s.url)
		t.servers = append(t.servers, s)
		cfg.logf("berth replica %d serving on %s (%s)", i+1, s.url, t.desc)
	}
	t.desc += fmt.Sprintf(", %d × %s serve", cfg.Replicas, cfg.ServerBin)
	return t, nil
}
