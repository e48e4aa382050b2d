package sftp

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/berthhq/berth/internal/provider"
)

// Output kept of a command: outputCap bytes of each of stdout and stderr
// are read, and at most outputShown bytes of each (after redaction) reach
// the error or the history row.
const (
	outputCap   = 4096
	outputShown = 300
)

// shellQuote quotes s for a POSIX shell (sh, bash, dash, zsh): inside
// single quotes nothing is special but the single quote itself, which is
// written as '\” (end the quote, an escaped quote, start a new one).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// commandLine returns the shell line that runs argv (after_put or
// after_remove, named name) for m: the placeholders replaced by m's values,
// every element quoted on its own. An empty argv is no command (""). A
// value with a NUL byte or a line break is refused (member-permanent)
// before anything is sent.
func (p *Provider) commandLine(name string, argv []string, m provider.Member) (string, error) {
	if len(argv) == 0 {
		return "", nil
	}
	parts := make([]string, len(argv))
	for i, a := range argv {
		what := ""
		switch a {
		case PlaceholderAccount:
			a, what = m.ID, "account id"
		case PlaceholderFile:
			a, what = m.FileName, "file name"
		case PlaceholderPath:
			a, what = path.Join(p.cfg.Dir, m.FileName), "file path"
		}
		if strings.ContainsAny(a, "\x00\r\n") {
			return "", provider.Errorf(provider.MemberPermanent, "sftp: %s: the member's %s contains a NUL byte or a line break", name, what)
		}
		parts[i] = shellQuote(a)
	}
	// The shell first tells its process id (which the program keeps,
	// through exec): sshd makes it a process group of its own, which a
	// command that outlasts its timeout is killed by (killGroup).
	return `printf '` + pidMarker + `%s\n' "$$" >&2; exec ` + strings.Join(parts, " "), nil
}

// pidMarker starts the line on stderr that tells the command's process id.
const pidMarker = "berth-pid:"

// pid returns the process id the command's shell told on stderr, or 0.
func pid(stderr string) int {
	_, rest, ok := strings.Cut(stderr, pidMarker)
	if !ok {
		return 0
	}
	digits, _, ok := strings.Cut(rest, "\n")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || n <= 1 {
		return 0
	}
	return n
}

// withoutMarker drops the process id line from what the command wrote.
func withoutMarker(stderr string) string {
	before, rest, ok := strings.Cut(stderr, pidMarker)
	if !ok {
		return stderr
	}
	if _, after, ok := strings.Cut(rest, "\n"); ok {
		return before + after
	}
	return before
}

// killGroup kills the process group of the command whose process id is
// pid, through another session on client: the ssh "signal" request alone
// is not enough, OpenSSH ignores it for root logins and before 7.9. It
// waits at most killWait.
func killGroup(client *ssh.Client, pid int) {
	if pid <= 1 {
		return
	}
	sess, err := client.NewSession()
	if err != nil {
		return
	}
	defer sess.Close()
	done := make(chan error, 1)
	go func() { done <- sess.Run(fmt.Sprintf("kill -s KILL -- -%d %d 2>/dev/null", pid, pid)) }()
	select {
	case <-done:
	case <-time.After(killWait):
	}
}

// killWait bounds killGroup.
const killWait = 5 * time.Second

// capped keeps the first max bytes written to it and drops the rest, so a
// chatty command never blocks nor fills memory.
type capped struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (c *capped) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

// redact makes a command's output fit for the history: the pool's own
// secrets (the password, the private key and each of its lines) are
// replaced, then provider.Summary masks anything else that looks like a
// token (24 or more letters, digits or -_+/= in a row: base64 or hex keys),
// turns control characters into spaces and cuts the text to outputShown.
func (p *Provider) redact(s string) string {
	secrets := []string{p.cfg.Password, p.cfg.PrivateKey}
	for _, line := range strings.Split(p.cfg.PrivateKey, "\n") {
		if line = strings.TrimSpace(line); len(line) >= 8 {
			secrets = append(secrets, line)
		}
	}
	for _, sec := range secrets {
		s = provider.Redact(s, sec, "[redacted]")
	}
	return provider.Summary(s, outputShown)
}

// output describes what the command wrote, redacted and bounded, as
// `; stdout: "…"; stderr: "…"` (each only when not empty).
func (p *Provider) output(stdout, stderr *capped) string {
	var b strings.Builder
	for _, o := range []struct {
		name, text string
	}{{"stdout", stdout.String()}, {"stderr", withoutMarker(stderr.String())}} {
		if s := p.redact(o.text); s != "" {
			fmt.Fprintf(&b, "; %s: %q", o.name, s)
		}
	}
	return b.String()
}

// runCommand runs line, the command of the setting name, in a new session
// on client, for at most the command timeout. It returns the note for the
// history ("after_put exited 0" and the output), or a classified error: a
// non-zero exit is retryable, or member-permanent for an exit code in
// PermanentExitCodes; a command that outlasts the timeout is killed and
// the call is retryable.
func (p *Provider) runCommand(ctx context.Context, client *ssh.Client, name, line string) (string, error) {
	timeout := p.cfg.commandTimeout()
	sess, err := client.NewSession()
	if err != nil {
		return "", fmt.Errorf("%s: open a session: %w", name, err)
	}
	defer sess.Close()
	stdout, stderr := &capped{max: outputCap}, &capped{max: outputCap}
	sess.Stdout, sess.Stderr = stdout, stderr
	start := time.Now()
	if err := sess.Start(line); err != nil {
		return "", fmt.Errorf("%s: start: %w", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		_ = sess.Signal(ssh.SIGKILL) // honoured by OpenSSH 7.9 and later, not for root
		killGroup(client, pid(stderr.String()))
		_ = sess.Close()
		return "", &provider.Error{Class: provider.Retryable,
			Err: fmt.Errorf("%s timed out after %v and was killed%s: %w", name, timeout, p.output(stdout, stderr), context.DeadlineExceeded)}
	case <-ctx.Done():
		// The connection closes with ctx (session): only the signal can
		// still reach the command.
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
		return "", fmt.Errorf("%s cut after %v: %w", name, time.Since(start).Round(time.Millisecond), ctx.Err())
	}

	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return fmt.Sprintf("%s exited 0%s", name, p.output(stdout, stderr)), nil
	case errors.As(err, &exit) && exit.Signal() != "":
		return "", provider.Errorf(provider.Retryable, "%s was killed by signal %s%s", name, exit.Signal(), p.output(stdout, stderr))
	case errors.As(err, &exit):
		class := provider.Retryable
		if slices.Contains(p.cfg.PermanentExitCodes, exit.ExitStatus()) {
			class = provider.MemberPermanent
		}
		return "", provider.Errorf(class, "%s exited %d%s", name, exit.ExitStatus(), p.output(stdout, stderr))
	case errors.As(err, &missing):
		return "", provider.Errorf(provider.Retryable, "%s ended without an exit status%s", name, p.output(stdout, stderr))
	}
	return "", fmt.Errorf("%s: %w", name, err)
}
