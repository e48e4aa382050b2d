// Package sftp delivers credential files to a server over SSH/SFTP: each
// member is one file in a configured directory on the server.
//
// Every call opens its own SSH connection, verifies the server's host key
// against a pinned fingerprint or known_hosts contents (never skipped),
// authenticates with a private key or a password, and closes everything before
// returning. Put writes to a temporary file in the target directory, sets mode
// 0600 before writing any data, and renames it onto the final name, so the
// file either has its old or its new content, never a partial one.
//
// When configured, a command runs over the same connection after a delivery
// or a removal (Config.AfterPut, AfterRemove; command.go): its arguments
// quoted for the server's shell, bounded by a timeout, its exit status and
// a redacted part of its output noted for the history (provider.Note) or
// carried by the error.
//
// Errors are classified for the caller as provider.Error: a rejected host key,
// rejected credentials or a directory the user may not write are
// pool-permanent; a bad file name is member-permanent; network trouble and
// cancelled contexts are retryable. A host whose address the allow-list
// (BERTH_PROVIDER_ALLOWED_HOSTS, package egress) does not allow is
// pool-permanent.
package sftp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/berthhq/berth/internal/egress"
	"github.com/berthhq/berth/internal/provider"
)

// Provider delivers credential files to one server. It implements
// provider.Provider and is safe for concurrent use.
type Provider struct {
	cfg        Config
	auth       []ssh.AuthMethod
	verifier   verifier
	firstAlgos []string   // host key algorithms for the first handshake; nil = defaults
	families   [][]string // alternatives tried after a host key rejection
	learnKey   string     // key of learnedAlgos for this server and trust
}

// learnedAlgos remembers, per server and pinned key, the host key algorithms
// that showed the accepted key when the first choice did not, so that later
// providers for the same pool (the worker makes one per job) need only one
// handshake. Keys are learnKey values; values are []string.
var learnedAlgos sync.Map

var _ provider.Provider = (*Provider)(nil)

// New checks cfg and returns a provider for it. It does not connect.
func New(cfg Config) (*Provider, error) {
	p, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	prov := &Provider{cfg: cfg, auth: p.auth}
	trust := sha256.Sum256([]byte(cfg.addr() + "\x00" + p.pin + "\x00" + cfg.KnownHosts))
	prov.learnKey = string(trust[:])
	if p.pin != "" {
		prov.verifier.pin = p.pin
		prov.firstAlgos = pinAlgorithms
		prov.families = hostKeyFamilies
	} else {
		cb, err := knownHostsCallback(cfg.KnownHosts)
		if err != nil {
			return nil, err
		}
		prov.verifier.known = cb
		prov.firstAlgos = knownHostsAlgorithms(p.knownHosts)
		prov.families = knownHostsFamilies(p.knownHosts)
	}
	return prov, nil
}

// Config returns the provider's configuration.
func (p *Provider) Config() Config { return p.cfg }

// Put uploads m.Data as Dir/m.FileName with mode 0600, creating Dir (0700)
// when missing. Putting the same file again replaces it.
func (p *Provider) Put(ctx context.Context, m provider.Member) error {
	if err := checkFileName(m.FileName); err != nil {
		return err
	}
	line, err := p.commandLine("after_put", p.cfg.AfterPut, m)
	if err != nil {
		return err
	}
	return p.session(ctx, "put "+m.FileName, func(c *pkgsftp.Client, sc *ssh.Client) error {
		if err := mkdirAll(c, p.cfg.Dir); err != nil {
			return err
		}
		if err := upload(c, p.cfg.Dir, m.FileName, m.Data); err != nil || line == "" {
			return err
		}
		note, err := p.runCommand(ctx, sc, "after_put", line)
		if err != nil && provider.Classify(err) == provider.MemberPermanent {
			// A member-permanent failure means nothing was delivered to
			// the caller, which gives the seat's room back: take the
			// file out again. If that fails, retrying is the safe answer
			// (a given-up retryable delivery ends in a removal).
			if rerr := removeFile(c, p.cfg.Dir, m.FileName); rerr != nil {
				return provider.Errorf(provider.Retryable, "%v; and the file delivered could not be taken out again: %v", err, rerr)
			}
		}
		provider.Note(ctx, note)
		return err
	})
}

// Remove deletes Dir/m.FileName; a file already absent is not an error.
func (p *Provider) Remove(ctx context.Context, m provider.Member) error {
	if err := checkFileName(m.FileName); err != nil {
		return err
	}
	line, err := p.commandLine("after_remove", p.cfg.AfterRemove, m)
	if err != nil {
		return err
	}
	return p.session(ctx, "remove "+m.FileName, func(c *pkgsftp.Client, sc *ssh.Client) error {
		if err := removeFile(c, p.cfg.Dir, m.FileName); err != nil || line == "" {
			return err
		}
		note, err := p.runCommand(ctx, sc, "after_remove", line)
		provider.Note(ctx, note)
		return err
	})
}

// removeFile deletes dir/name; a file already absent is not an error.
func removeFile(c *pkgsftp.Client, dir, name string) error {
	full := path.Join(dir, name)
	fi, err := c.Lstat(full)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return provider.Errorf(provider.MemberPermanent, "sftp: %s is a directory, not a credential file", full)
	}
	if err := c.Remove(full); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// List returns the names of the regular files in Dir, sorted, leaving out
// dot files (which include Put's temporary files). A missing Dir is empty.
func (p *Provider) List(ctx context.Context) ([]string, error) {
	names := []string{}
	err := p.session(ctx, "list", func(c *pkgsftp.Client, _ *ssh.Client) error {
		entries, err := c.ReadDirContext(ctx, p.cfg.Dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, fi := range entries {
			if fi.Mode().IsRegular() && !strings.HasPrefix(fi.Name(), ".") {
				names = append(names, fi.Name())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// Check connects, verifies the host key, authenticates, starts SFTP and, if
// Dir exists, checks that it is a directory.
func (p *Provider) Check(ctx context.Context) error {
	return p.session(ctx, "check", func(c *pkgsftp.Client, _ *ssh.Client) error {
		fi, err := c.Stat(p.cfg.Dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return provider.Errorf(provider.PoolPermanent, "sftp: %s exists and is not a directory", p.cfg.Dir)
		}
		return nil
	})
}

// checkFileName accepts only a plain base name: the file must land in Dir.
func checkFileName(name string) error {
	switch {
	case name == "":
		return provider.Errorf(provider.MemberPermanent, "sftp: member has no file name")
	case strings.ContainsAny(name, "/\\\x00"), strings.Contains(name, ".."), strings.HasPrefix(name, "."):
		return provider.Errorf(provider.MemberPermanent, "sftp: file name %q is not a plain base name", name)
	case len(name) > 255:
		return provider.Errorf(provider.MemberPermanent, "sftp: file name %q is longer than 255 bytes", name)
	}
	return nil
}

// mkdirAll creates dir and its missing parents, each with mode 0700.
func mkdirAll(c *pkgsftp.Client, dir string) error {
	fi, err := c.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return provider.Errorf(provider.PoolPermanent, "sftp: %s exists and is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if parent := path.Dir(dir); parent != dir {
		if err := mkdirAll(c, parent); err != nil {
			return err
		}
	}
	if err := c.Mkdir(dir); err != nil {
		// Someone else may have made it meanwhile.
		if fi, serr := c.Stat(dir); serr == nil && fi.IsDir() {
			return nil
		}
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	if err := c.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return nil
}

// upload writes data to dir/name through a temporary file in dir.
func upload(c *pkgsftp.Client, dir, name string, data []byte) (err error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:]) // never fails
	tmp := path.Join(dir, "."+name+".tmp-"+hex.EncodeToString(rnd[:]))
	final := path.Join(dir, name)

	f, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = c.Remove(tmp) // best effort; List hides what is left
		}
	}()
	// Restrict the mode before any data is written.
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if n, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	} else if n != len(data) {
		return fmt.Errorf("write %s: short write (%d of %d bytes)", tmp, n, len(data))
	}
	if v, ok := c.HasExtension("fsync@openssh.com"); ok && v == "1" {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", tmp, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}

	if _, ok := c.HasExtension("posix-rename@openssh.com"); ok {
		if err := c.PosixRename(tmp, final); err != nil {
			return fmt.Errorf("rename %s to %s: %w", tmp, final, err)
		}
		return nil
	}
	// Plain SFTP rename refuses to replace an existing file.
	if err := c.Rename(tmp, final); err != nil {
		if rerr := c.Remove(final); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return fmt.Errorf("replace %s: %w", final, rerr)
		}
		if err := c.Rename(tmp, final); err != nil {
			return fmt.Errorf("rename %s to %s: %w", tmp, final, err)
		}
	}
	return nil
}

// session runs fn on a fresh SFTP session and classifies what fails.
func (p *Provider) session(ctx context.Context, op string, fn func(*pkgsftp.Client, *ssh.Client) error) error {
	if err := ctx.Err(); err != nil {
		return p.fail(op, provider.Retryable, err)
	}
	client, err := p.connect(ctx)
	if err != nil {
		return p.classify(ctx, op, err)
	}
	defer client.Close()
	// Unblock SFTP calls, which take no context, when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = client.Close() })
	defer stop()

	c, err := pkgsftp.NewClient(client)
	if err != nil {
		if ctx.Err() == nil && strings.Contains(err.Error(), "subsystem request failed") {
			return p.fail(op, provider.PoolPermanent, fmt.Errorf("server refused the sftp subsystem: %w", err))
		}
		return p.classify(ctx, op, fmt.Errorf("start sftp: %w", err))
	}
	defer c.Close()
	if err := fn(c, client); err != nil {
		return p.classify(ctx, op, err)
	}
	return nil
}

func (p *Provider) fail(op string, class provider.Class, err error) error {
	return &provider.Error{Class: class, Err: fmt.Errorf("sftp %s@%s: %s: %w", p.cfg.User, p.cfg.addr(), op, err)}
}

// classify turns err from op into a provider.Error.
func (p *Provider) classify(ctx context.Context, op string, err error) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return &provider.Error{Class: pe.Class, RetryAfter: pe.RetryAfter,
			Err: fmt.Errorf("sftp %s@%s: %s: %w", p.cfg.User, p.cfg.addr(), op, pe.Err)}
	}
	if cerr := ctx.Err(); cerr != nil {
		return p.fail(op, provider.Retryable, fmt.Errorf("%w (%v)", cerr, err))
	}
	if re := egress.Refused(err); re != nil {
		return p.fail(op, provider.PoolPermanent, re)
	}
	var hk *hostKeyError
	switch {
	case errors.As(err, &hk):
		return p.fail(op, provider.PoolPermanent, hk)
	case strings.Contains(err.Error(), "ssh: unable to authenticate"):
		return p.fail(op, provider.PoolPermanent, fmt.Errorf("credentials rejected for user %q: %w", p.cfg.User, err))
	case strings.Contains(err.Error(), "ssh: no common algorithm"):
		return p.fail(op, provider.PoolPermanent, err)
	case errors.Is(err, os.ErrPermission):
		return p.fail(op, provider.PoolPermanent, fmt.Errorf("permission denied for user %q: %w", p.cfg.User, err))
	}
	return p.fail(op, provider.Retryable, err)
}

// connect dials, verifies the host key and authenticates. When the host key
// is rejected it tries the other host key algorithms the pin could refer to,
// since a server holds several host keys but shows one per handshake.
func (p *Provider) connect(ctx context.Context) (*ssh.Client, error) {
	if v, ok := learnedAlgos.Load(p.learnKey); ok {
		client, err := p.dial(ctx, v.([]string))
		var hk *hostKeyError
		if err == nil || !(errors.As(err, &hk) || strings.Contains(err.Error(), "no common algorithm for host key")) {
			return client, err
		}
		// The server's keys changed since; start afresh.
		learnedAlgos.Delete(p.learnKey)
	}
	return p.connectFrom(ctx, p.firstAlgos)
}

// connectFrom is connect offering first in the first handshake.
func (p *Provider) connectFrom(ctx context.Context, first []string) (*ssh.Client, error) {
	client, err := p.dial(ctx, first)
	var hk *hostKeyError
	if err == nil || !errors.As(err, &hk) || hk.kind != "mismatch" {
		return client, err
	}
	rejected := hk
	for _, algos := range p.families {
		if slices.Equal(algos, first) || slices.ContainsFunc(rejected.seen, func(k seenKey) bool {
			return slices.Equal(algos, algorithmsFor(k.keyType)) // already seen and rejected
		}) {
			continue
		}
		client, err := p.dial(ctx, algos)
		if err == nil {
			learnedAlgos.Store(p.learnKey, algos)
			return client, nil
		}
		var again *hostKeyError
		switch {
		case errors.As(err, &again):
			if again.kind != "mismatch" {
				return nil, err
			}
			for _, k := range again.seen {
				if !slices.Contains(rejected.seen, k) {
					rejected.seen = append(rejected.seen, k)
				}
			}
		case strings.Contains(err.Error(), "no common algorithm for host key"):
			// The server has no key of this kind.
		default:
			return nil, err
		}
	}
	return nil, rejected
}

// dial makes one connection offering the given host key algorithms (nil:
// the defaults). Connecting, the handshake and authentication together get
// the dial timeout.
func (p *Provider) dial(ctx context.Context, hostKeyAlgos []string) (*ssh.Client, error) {
	timeout := p.cfg.dialTimeout()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	addr := p.cfg.addr()
	// The address connected to is checked against the allow-list
	// (BERTH_PROVIDER_ALLOWED_HOSTS), after name resolution.
	conn, err := provider.Egress(ctx, p.cfg.Egress).DialContext(dctx, "tcp", addr)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("dial %s: timed out after %v", addr, timeout)
		}
		return nil, err
	}

	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(dctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })

	var a attempt
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{
		User:              p.cfg.User,
		Auth:              p.auth,
		HostKeyCallback:   p.verifier.callback(&a),
		HostKeyAlgorithms: hostKeyAlgos,
		Timeout:           timeout,
	})
	if !stop() && err == nil {
		// ctx ended just as the handshake finished: the deadline is spent.
		_ = sc.Close()
		err = dctx.Err()
	}
	if err != nil {
		_ = conn.Close()
		if _, herr := a.result(); herr != nil {
			return nil, herr
		}
		if ctx.Err() == nil && (dctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)) {
			return nil, fmt.Errorf("ssh handshake with %s: timed out after %v: %w", addr, timeout, err)
		}
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}
