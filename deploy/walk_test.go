package deploy_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
	"github.com/berthhq/berth/internal/syncbuf"
)

// TestSystemdWalkPostgres follows deploy/README.md's systemd steps as far as
// a machine without systemd as PID 1 allows: the binary built as the README
// says, the unit's Environment= defaults overridden by the example
// environment file with its PostgreSQL lines turned on (systemd's order),
// the unit's ExecStart run in its working directory. It then does what the
// operator does next: reads the admin token from the first start's output,
// waits for /readyz, lists pools with the CLI, and stops berth with SIGTERM
// (what systemctl stop sends), which must end it cleanly. The key file the
// example names is made at the first start with mode 0600, and a second
// start uses it.
func TestSystemdWalkPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs berth: skipped with -short")
	}
	dsn := storetest.DSN(t, store.Postgres) // skips without BERTH_TEST_POSTGRES_URL
	state := t.TempDir()                    // stands for /var/lib/berth
	bin := filepath.Join(t.TempDir(), "berth")
	build := exec.Command("go", "build", "-o", bin, "../cmd/berth")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	unit := readFile(t, "systemd/berth.service")
	env := map[string]string{}
	var execStart []string
	for _, line := range strings.Split(unit, "\n") {
		switch {
		case strings.HasPrefix(line, "Environment="):
			for _, kv := range strings.Fields(strings.TrimPrefix(line, "Environment=")) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case strings.HasPrefix(line, "ExecStart="):
			execStart = strings.Fields(strings.TrimPrefix(line, "ExecStart="))
		}
	}
	if env["BERTH_DB"] == "" || len(execStart) == 0 {
		t.Fatalf("the unit has no Environment=BERTH_DB default or no ExecStart: %v %v", env, execStart)
	}
	// The operator's /etc/berth/berth.env: the example with the PostgreSQL
	// lines uncommented; the test database stands for the URL it shows.
	example := readFile(t, "systemd/berth.env.example")
	turnedOn := 0
	for _, line := range strings.Split(example, "\n") {
		for _, k := range []string{"BERTH_DB", "BERTH_KEY_FILE"} {
			if v, ok := strings.CutPrefix(line, "#"+k+"="); ok {
				env[k] = v
				turnedOn++
			}
		}
	}
	if turnedOn != 2 || !strings.HasPrefix(env["BERTH_DB"], "postgres://") {
		t.Fatalf("the example environment file lacks its PostgreSQL lines: %v", env)
	}
	env["BERTH_DB"] = dsn
	port := freePort(t)
	env["BERTH_LISTEN"] = "127.0.0.1:" + port
	for k, v := range env {
		env[k] = strings.ReplaceAll(v, "/var/lib/berth", state)
	}
	keyFile := env["BERTH_KEY_FILE"]

	start := func() (*exec.Cmd, *syncbuf.Buffer) {
		cmd := exec.Command(bin, execStart[1:]...)
		cmd.Dir = state // WorkingDirectory=/var/lib/berth
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out := &syncbuf.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitReady(t, "http://127.0.0.1:"+port+"/readyz", out)
		return cmd, out
	}
	stop := func(cmd *exec.Cmd, out *syncbuf.Buffer) {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("berth did not stop cleanly on SIGTERM: %v\n%s", err, out.String())
			}
		case <-time.After(30 * time.Second): // TimeoutStopSec=30s
			t.Fatalf("berth did not stop within the unit's TimeoutStopSec\n%s", out.String())
		}
	}

	cmd, out := start()
	m := regexp.MustCompile(`admin token \(shown once[^)]*\): (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the first start did not print the admin token:\n%s", out.String())
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v (mode %v), want one made with mode 0600", keyFile, err, fi)
	}
	list := exec.Command(bin, "pools", "list", "-o", "json")
	list.Env = []string{"BERTH_URL=http://127.0.0.1:" + port, "BERTH_ADMIN_TOKEN=" + m[1]}
	if b, err := list.CombinedOutput(); err != nil || !strings.Contains(string(b), "[") {
		t.Fatalf("berth pools list with the printed token: %v\n%s", err, b)
	}
	stop(cmd, out)

	// systemctl restart: the same settings, the key file made before.
	cmd, out = start()
	if strings.Contains(out.String(), "admin token (shown once") {
		t.Errorf("a second start printed a new admin token:\n%s", out.String())
	}
	stop(cmd, out)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func waitReady(t *testing.T, url string, out *syncbuf.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	var last []string
	for sc.Scan() {
		last = append(last, sc.Text())
	}
	t.Fatalf("%s not ready within 60s; berth said:\n%s", url, strings.Join(last, "\n"))
}
