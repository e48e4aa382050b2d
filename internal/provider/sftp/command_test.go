package sftp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/provider"
)

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// argvRecorder is a script that writes the arguments after its first (the
// file to write) NUL-separated, so that a test reads back exactly what
// the program received.
const argvRecorder = `out=$1; shift
for a in "$@"; do printf '%s\0' "$a"; done > "$out"
echo "reloaded $# args"
`

func readArgv(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the command did not run: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// The command after a delivery gets the account id, the file name and the
// path as arguments of their own, whatever they hold: quotes, spaces,
// $(...), backticks and ; reach the program as text, nothing is run by
// the shell. Its success is noted for the history. The same holds for
// the command after a removal.
func TestAfterPutArgumentsNeverInterpolated(t *testing.T) {
	srv := startSSHD(t)
	work, dir := t.TempDir(), t.TempDir()
	rec := script(t, work, "record", argvRecorder)
	pwned := filepath.Join(work, "pwned")
	cfg := srv.config(dir)
	cfg.AfterPut = []string{rec, filepath.Join(work, "put-argv"), "{account}", "{file}", "{path}", "literal $HOME; `id`"}
	cfg.AfterRemove = []string{rec, filepath.Join(work, "remove-argv"), "{account}", "{path}"}
	p := newProvider(t, cfg)

	id := `it's "me"; touch ` + pwned + ` $(touch ` + pwned + `) ` + "`touch " + pwned + "`" + ` && touch ` + pwned + ` | x \ '' $1`
	file := `a b'c";$(touch x)` + "`y`" + `&|<>*?[z].session`
	m := provider.Member{ID: id, FileName: file, Data: []byte("data")}

	ctx, notes := provider.WithNotes(context.Background())
	if err := p.Put(ctx, m); err != nil {
		t.Fatalf("Put: %v", err)
	}
	want := []string{id, file, filepath.Join(dir, file), "literal $HOME; `id`"}
	if got := readArgv(t, filepath.Join(work, "put-argv")); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after_put received %q, want %q", got, want)
	}
	if note := notes.String(); note != `after_put exited 0; stdout: "reloaded 4 args"` {
		t.Errorf("note = %q", note)
	}

	ctx, notes = provider.WithNotes(context.Background())
	if err := p.Remove(ctx, m); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	want = []string{id, filepath.Join(dir, file)}
	if got := readArgv(t, filepath.Join(work, "remove-argv")); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after_remove received %q, want %q", got, want)
	}
	if note := notes.String(); note != `after_remove exited 0; stdout: "reloaded 2 args"` {
		t.Errorf("note = %q", note)
	}
	for _, f := range []string{pwned, filepath.Join(dir, "x"), filepath.Join(os.Getenv("HOME"), "x")} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s exists: an argument was run by the shell", f)
		}
	}
	assertOnlyFiles(t, dir)

	// A value with a line break is refused before anything is sent.
	m.ID = "a\nb"
	err := p.Put(context.Background(), m)
	wantClass(t, err, provider.MemberPermanent, "after_put", "account id", "line break")
	assertOnlyFiles(t, dir)
}

// A failing command fails the delivery: exit 1 is retryable (the file
// stays, a retry puts it again); an exit code named permanent is
// member-permanent and the file is taken out again (the caller takes such a
// failure as nothing delivered). Both errors carry the exit status and the
// output.
func TestAfterPutExitStatus(t *testing.T) {
	srv := startSSHD(t)
	work, dir := t.TempDir(), t.TempDir()
	exit := script(t, work, "exit", `echo "worker said no" >&2; echo "out line"; exit "$1"`)
	cfg := srv.config(dir)
	cfg.PermanentExitCodes = []int{2, 9}
	ctx := context.Background()

	cfg.AfterPut = []string{exit, "1"}
	err := newProvider(t, cfg).Put(ctx, member("a.session", "x"))
	wantClass(t, err, provider.Retryable, "after_put exited 1", `stdout: "out line"`, `stderr: "worker said no"`)
	assertOnlyFiles(t, dir, "a.session")

	cfg.AfterPut = []string{exit, "2"}
	err = newProvider(t, cfg).Put(ctx, member("b.session", "x"))
	wantClass(t, err, provider.MemberPermanent, "after_put exited 2", `stderr: "worker said no"`)
	assertOnlyFiles(t, dir, "a.session")

	// A program that is not there: the shell's 127, retryable.
	cfg.AfterPut = []string{filepath.Join(work, "missing")}
	err = newProvider(t, cfg).Put(ctx, member("c.session", "x"))
	wantClass(t, err, provider.Retryable, "after_put exited 127", "No such file or directory")

	// The command after a removal is judged the same way.
	cfg.AfterPut, cfg.AfterRemove = nil, []string{exit, "9"}
	err = newProvider(t, cfg).Remove(ctx, member("a.session", "x"))
	wantClass(t, err, provider.MemberPermanent, "after_remove exited 9")
	assertOnlyFiles(t, dir, "c.session")
}

// A command that outlasts command_timeout_seconds is killed and the call
// fails as a retryable timeout, soon after the timeout.
func TestAfterPutTimeout(t *testing.T) {
	srv := startSSHD(t)
	work, dir := t.TempDir(), t.TempDir()
	pidFile := filepath.Join(work, "pid")
	slow := script(t, work, "slow", `echo $$ > "$1"; echo started; exec sleep 60`)
	cfg := srv.config(dir)
	cfg.AfterPut, cfg.CommandTimeoutSeconds = []string{slow, pidFile}, 2
	p := newProvider(t, cfg)

	start := time.Now()
	err := p.Put(context.Background(), member("a.session", "x"))
	took := time.Since(start)
	wantClass(t, err, provider.Retryable, "after_put timed out after 2s", `stdout: "started"`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v does not wrap context.DeadlineExceeded (the pool's health counts it a timeout)", err)
	}
	if took > 8*time.Second {
		t.Errorf("Put took %v with a 2s command timeout", took)
	}
	b, rerr := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if rerr != nil || pid == 0 {
		t.Fatalf("pid file: %q, %v", b, rerr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the command (pid %d) still runs 5s after its timeout", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// What the command prints reaches errors and the history bounded, with
// the pool's secrets, anything token-like and control characters removed.
func TestAfterPutOutputRedacted(t *testing.T) {
	srv := startSSHD(t)
	work, dir := t.TempDir(), t.TempDir()
	cfg := srv.config(dir)
	keyLine := strings.Split(strings.TrimSpace(cfg.PrivateKey), "\n")[1]
	hexToken := strings.Repeat("0123456789abcdef", 4)
	if err := os.WriteFile(filepath.Join(work, "keyline"), []byte(keyLine), 0o600); err != nil {
		t.Fatal(err)
	}
	noisy := script(t, work, "noisy", `printf 'key=%s token=%s bell=\a\033[31mred\n' "$(cat "$1")" "$2"
head -c 100000 /dev/zero | tr '\0' 'y'
exit 1
`)
	cfg.AfterPut = []string{noisy, filepath.Join(work, "keyline"), hexToken}
	err := newProvider(t, cfg).Put(context.Background(), member("a.session", "x"))
	wantClass(t, err, provider.Retryable, "after_put exited 1", "key=", "bell=", "red")
	msg := err.Error()
	for _, leak := range []string{keyLine[:20], hexToken[:24], "\a", "\x1b", "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"} {
		if strings.Contains(msg, leak) {
			t.Errorf("error %q holds %q", msg, leak)
		}
	}
	if len(msg) > 600 {
		t.Errorf("error is %d bytes long, want the output bounded", len(msg))
	}
}

// redact hides the pool's password even when it is short (no token-like
// run), and each line of its private key.
func TestRedactPoolSecrets(t *testing.T) {
	p := &Provider{cfg: Config{Password: "hunter2!"}}
	if got := p.redact("login with hunter2! ok"); got != "login with [redacted] ok" {
		t.Errorf("redact = %q", got)
	}
	p = &Provider{cfg: Config{PrivateKey: "-----BEGIN KEY-----\nshort+line=\n-----END KEY-----\n"}}
	if got := p.redact("x short+line= y"); got != "x [redacted] y" {
		t.Errorf("redact = %q", got)
	}
}

// The shell quoting is POSIX single quoting.
func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":         "''",
		"a b":      "'a b'",
		"it's":     `'it'\''s'`,
		"$(x);`y`": "'$(x);`y`'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// Bad command settings are refused with a message saying what to change.
func TestValidateCommands(t *testing.T) {
	base := Config{Host: "h", User: "u", Password: "p", HostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", Dir: "/d"}
	ok := base
	ok.AfterPut, ok.AfterRemove = []string{"/bin/reload", "{account}", "{file}", "{path}"}, []string{"/bin/reload"}
	ok.CommandTimeoutSeconds, ok.PermanentExitCodes = 60, []int{2}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid command settings refused: %v", err)
	}
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.AfterPut = []string{""} }, "after_put[0] must name the program"},
		{func(c *Config) { c.AfterPut = []string{"{account}"} }, "after_put[0] must name the program"},
		{func(c *Config) { c.AfterRemove = []string{"/bin/x", "--id={account}"} }, "after_remove[1] \"--id={account}\": {account}, {file} and {path} are replaced only as whole elements"},
		{func(c *Config) { c.AfterPut = []string{"/bin/x", "a\nb"} }, "after_put[1] contains a NUL byte or a line break"},
		{func(c *Config) { c.AfterPut = []string{"/bin/x", "a\x00b"} }, "after_put[1] contains a NUL byte"},
		{func(c *Config) { c.AfterPut = make([]string, 65); c.AfterPut[0] = "/bin/x" }, "after_put has 65 elements, more than 64"},
		{func(c *Config) { c.AfterPut = []string{"/bin/x", strings.Repeat("a", 4097)} }, "after_put[1] is longer than 4096 bytes"},
		{func(c *Config) { c.AfterPut = []string{"/bin/x"}; c.CommandTimeoutSeconds = -1 }, "command_timeout_seconds must not be negative"},
		{func(c *Config) { c.AfterPut = []string{"/bin/x"}; c.CommandTimeoutSeconds = 301 }, "command_timeout_seconds 301 is more than the largest allowed, 300"},
		{func(c *Config) { c.AfterPut = []string{"/bin/x"}; c.PermanentExitCodes = []int{0} }, "permanent_exit_codes: 0 is not an exit code from 1 to 255"},
		{func(c *Config) { c.AfterPut = []string{"/bin/x"}; c.PermanentExitCodes = []int{256} }, "256 is not an exit code"},
		{func(c *Config) { c.PermanentExitCodes = []int{2} }, "apply to after_put and after_remove; set one of them"},
		{func(c *Config) { c.CommandTimeoutSeconds = 5 }, "apply to after_put and after_remove"},
	} {
		cfg := base
		c.change(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", cfg, err, c.want)
		}
	}
}
