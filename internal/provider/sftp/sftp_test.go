package sftp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/silentserver"
)

func newProvider(t *testing.T, cfg Config) *Provider {
	t.Helper()
	if cfg.Egress == nil {
		cfg.Egress = loopback // the test sshd listens on 127.0.0.1
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func member(name, data string) provider.Member {
	return provider.Member{ID: strings.TrimSuffix(name, ".session"), FileName: name, Data: []byte(data)}
}

// wantClass fails unless err is a provider error of class c whose message
// contains every one of subs.
func wantClass(t *testing.T, err error, c provider.Class, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %v", c)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Class != c {
		t.Fatalf("got %v, want a %v provider.Error", err, c)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not mention %q", err, s)
		}
	}
}

func TestPutDeliversFile(t *testing.T) {
	srv := startSSHD(t)
	base := t.TempDir()
	dir := filepath.Join(base, "home", "sessions")
	p := newProvider(t, srv.config(dir))

	data := "session-bytes\x00\x01\xff" + strings.Repeat("x", 100_000)
	if err := p.Put(context.Background(), member("639277333688.session", data)); err != nil {
		t.Fatalf("Put: %v", err)
	}

	path := filepath.Join(dir, "639277333688.session")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != data {
		t.Fatalf("delivered %d bytes that differ from the %d sent", len(got), len(data))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("file mode = %v, want -rw-------", fi.Mode())
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s mode = %v, want drwx------", d, fi.Mode())
		}
	}
	assertOnlyFiles(t, dir, "639277333688.session")
}

func TestPutTwiceIsIdempotent(t *testing.T) {
	srv := startSSHD(t)
	dir := t.TempDir() // exists already, with its own mode
	p := newProvider(t, srv.config(dir))
	ctx := context.Background()

	for i := range 2 {
		if err := p.Put(ctx, member("a.session", "one")); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	if err := p.Put(ctx, member("a.session", "two, longer")); err != nil {
		t.Fatalf("Put new content: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "a.session"))
	if err != nil || string(got) != "two, longer" {
		t.Fatalf("content = %q, %v; want replaced content", got, err)
	}
	names, err := p.List(ctx)
	if err != nil || !slices.Equal(names, []string{"a.session"}) {
		t.Fatalf("List = %v, %v", names, err)
	}
	assertOnlyFiles(t, dir, "a.session")
}

func TestPutReplacesReadOnlyFile(t *testing.T) {
	srv := startSSHD(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.session"), []byte("old"), 0o444); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, srv.config(dir))
	if err := p.Put(context.Background(), member("a.session", "new")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "a.session"))
	if err != nil || fi.Mode() != 0o600 || fi.Size() != 3 {
		t.Fatalf("after Put: %v, %v", fi, err)
	}
}

func TestRemove(t *testing.T) {
	srv := startSSHD(t)
	dir := t.TempDir()
	p := newProvider(t, srv.config(dir))
	ctx := context.Background()
	m := member("a.session", "x")

	if err := p.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := p.Remove(ctx, m); err != nil {
			t.Fatalf("Remove %d: %v", i, err)
		}
	}
	assertOnlyFiles(t, dir)

	// Nor is a missing directory an error.
	p = newProvider(t, srv.config(filepath.Join(dir, "never-made")))
	if err := p.Remove(ctx, m); err != nil {
		t.Fatalf("Remove from missing dir: %v", err)
	}

	// A directory in the file's place is not removed.
	if err := os.Mkdir(filepath.Join(dir, "b.session"), 0o700); err != nil {
		t.Fatal(err)
	}
	p = newProvider(t, srv.config(dir))
	wantClass(t, p.Remove(ctx, member("b.session", "")), provider.MemberPermanent, "is a directory")
}

func TestList(t *testing.T) {
	srv := startSSHD(t)
	dir := t.TempDir()
	p := newProvider(t, srv.config(dir))
	ctx := context.Background()

	for _, n := range []string{"b.session", "a.session"} {
		if err := p.Put(ctx, member(n, n)); err != nil {
			t.Fatal(err)
		}
	}
	// Things List must leave out: a stale temporary file, a dot file, a
	// directory.
	if err := os.WriteFile(filepath.Join(dir, ".c.session.tmp-0011223344556677"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".profile"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	names, err := p.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if want := []string{"a.session", "b.session"}; !slices.Equal(names, want) {
		t.Fatalf("List = %v, want %v", names, want)
	}

	p = newProvider(t, srv.config(filepath.Join(dir, "missing")))
	names, err = p.List(ctx)
	if err != nil || names == nil || len(names) != 0 {
		t.Fatalf("List of missing dir = %#v, %v; want empty, nil", names, err)
	}
}

func TestCheck(t *testing.T) {
	srv := startSSHD(t)
	dir := t.TempDir()
	ctx := context.Background()

	if err := newProvider(t, srv.config(dir)).Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := newProvider(t, srv.config(filepath.Join(dir, "not-yet"))).Check(ctx); err != nil {
		t.Fatalf("Check with missing dir: %v", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantClass(t, newProvider(t, srv.config(file)).Check(ctx), provider.PoolPermanent, "not a directory")
	wantClass(t, newProvider(t, srv.config(filepath.Join(file, "sub"))).Put(ctx, member("a", "")),
		provider.PoolPermanent, "not a directory")
}

func TestHostKeyMismatch(t *testing.T) {
	srv := startSSHD(t)
	dir := t.TempDir()
	_, other := newEd25519(t)
	cfg := srv.config(dir)
	cfg.HostKey = Fingerprint(other)
	p := newProvider(t, cfg)
	ctx := context.Background()

	for name, err := range map[string]error{
		"put":   p.Put(ctx, member("a.session", "secret")),
		"check": p.Check(ctx),
	} {
		t.Run(name, func(t *testing.T) {
			wantClass(t, err, provider.PoolPermanent,
				"host key mismatch: got SHA256:", "want "+Fingerprint(other),
				Fingerprint(srv.Ed25519), Fingerprint(srv.ECDSA))
		})
	}
	assertOnlyFiles(t, dir)
}

// The client negotiates ECDSA before Ed25519 by default; a pin of either of
// the server's keys must work.
func TestHostKeyPinAnyServerKey(t *testing.T) {
	srv := startSSHD(t)
	for name, key := range map[string]ssh.PublicKey{"ed25519": srv.Ed25519, "ecdsa": srv.ECDSA} {
		t.Run(name, func(t *testing.T) {
			cfg := srv.config(t.TempDir())
			cfg.HostKey = Fingerprint(key)
			p := newProvider(t, cfg)
			for range 2 { // the second call uses what the first learned
				if err := p.Put(context.Background(), member("a.session", "x")); err != nil {
					t.Fatalf("Put: %v", err)
				}
			}
			// Ed25519 is offered first; finding the ECDSA key takes a second
			// handshake, which is remembered for later providers.
			v, learned := learnedAlgos.Load(p.learnKey)
			switch {
			case name == "ed25519" && learned:
				t.Fatalf("learned %v for the key offered first", v)
			case name == "ecdsa" && (!learned || !slices.Equal(v.([]string), []string{ssh.KeyAlgoECDSA256})):
				t.Fatalf("learned %v, %v; want [%s]", v, learned, ssh.KeyAlgoECDSA256)
			}
		})
	}
}

func TestKnownHosts(t *testing.T) {
	srv := startSSHD(t)
	ctx := context.Background()
	_, other := newEd25519(t)

	tests := []struct {
		name       string
		knownHosts string
		wantErr    []string // nil: success
	}{
		{"ed25519", knownhosts.Line([]string{srv.Addr()}, srv.Ed25519) + "\n", nil},
		{"ecdsa", knownhosts.Line([]string{srv.Addr()}, srv.ECDSA) + "\n", nil},
		{"both with comments", "# keyscan\n" + knownhosts.Line([]string{srv.Addr()}, srv.ECDSA) + "\n" +
			knownhosts.Line([]string{srv.Addr()}, srv.Ed25519) + "\n", nil},
		{"other hosts first", knownhosts.Line([]string{"[127.0.0.1]:1"}, other) + "\n" +
			knownhosts.Line([]string{srv.Addr()}, srv.Ed25519) + "\n", nil},
		{"wrong key", knownhosts.Line([]string{srv.Addr()}, other) + "\n",
			[]string{"host key mismatch: got SHA256:", "want " + Fingerprint(other)}},
		{"other host only", knownhosts.Line([]string{"[127.0.0.1]:1"}, srv.Ed25519) + "\n",
			[]string{"no entry for " + knownhosts.Normalize(srv.Addr())}},
		{"revoked", "@revoked * " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(srv.Ed25519))) + "\n" +
			knownhosts.Line([]string{srv.Addr()}, srv.Ed25519) + "\n", []string{"@revoked"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srv.config(t.TempDir())
			cfg.HostKey, cfg.KnownHosts = "", tc.knownHosts
			p := newProvider(t, cfg)
			err := p.Put(ctx, member("a.session", "x"))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				if err := p.Check(ctx); err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			wantClass(t, err, provider.PoolPermanent, tc.wantErr...)
		})
	}
}

func TestWrongClientKey(t *testing.T) {
	srv := startSSHD(t)
	cfg := srv.config(t.TempDir())
	cfg.PrivateKey, _ = newEd25519(t)
	err := newProvider(t, cfg).Put(context.Background(), member("a.session", "x"))
	wantClass(t, err, provider.PoolPermanent, "credentials rejected")
}

// Password login is refused by the test sshd (it would need a real account
// password); this checks that the rejection is classified. A successful
// password login is not tested.
func TestPasswordRejected(t *testing.T) {
	srv := startSSHD(t)
	cfg := srv.config(t.TempDir())
	cfg.PrivateKey, cfg.Password = "", "hunter2"
	err := newProvider(t, cfg).Check(context.Background())
	wantClass(t, err, provider.PoolPermanent, "credentials rejected")
}

// unreachable is a provider for a port on 127.0.0.1 nothing listens on.
func unreachable(t *testing.T) *Provider {
	t.Helper()
	_, hostKey := newEd25519(t)
	clientKey, _ := newEd25519(t)
	return newProvider(t, Config{
		Host: "127.0.0.1", Port: freePort(t), User: "ubuntu",
		PrivateKey: clientKey, HostKey: Fingerprint(hostKey), Dir: "/tmp/x",
	})
}

func TestClosedPortIsRetryable(t *testing.T) {
	p := unreachable(t)
	ctx := context.Background()
	wantClass(t, p.Put(ctx, member("a.session", "x")), provider.Retryable, "connection refused")
	wantClass(t, p.Check(ctx), provider.Retryable)
	_, err := p.List(ctx)
	wantClass(t, err, provider.Retryable)
}

// A server that accepts connections but never speaks SSH runs into the dial
// timeout.
func TestHandshakeTimeout(t *testing.T) {
	port := silentserver.Start(t) // accepts, then says nothing
	_, hostKey := newEd25519(t)
	clientKey, _ := newEd25519(t)
	p := newProvider(t, Config{
		Host: "127.0.0.1", Port: port, User: "ubuntu",
		PrivateKey: clientKey, HostKey: Fingerprint(hostKey), Dir: "/tmp/x",
		DialTimeout: 200 * time.Millisecond,
	})
	start := time.Now()
	wantClass(t, p.Check(context.Background()), provider.Retryable, "timed out")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Check took %v despite a 200ms dial timeout", d)
	}

	// The caller's context wins over a longer dial timeout.
	p.cfg.DialTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err := p.Check(ctx)
	wantClass(t, err, provider.Retryable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Check took %v despite a 200ms context", d)
	}
}

func TestCancelledContext(t *testing.T) {
	srv := startSSHD(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := newProvider(t, srv.config(t.TempDir())).Put(ctx, member("a.session", "x"))
	wantClass(t, err, provider.Retryable)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v does not wrap context.Canceled", err)
	}
}

func TestBadFileNames(t *testing.T) {
	// Nothing listens: a bad name must be refused before connecting.
	p := unreachable(t)
	for _, name := range []string{
		"", ".", "..", "../etc/passwd", "a/b", "/abs", "a\\b", "..a", "a..", ".hidden",
		".a.session.tmp-00", "nul\x00byte", strings.Repeat("n", 256),
	} {
		m := member(name, "x")
		wantClass(t, p.Put(context.Background(), m), provider.MemberPermanent)
		wantClass(t, p.Remove(context.Background(), m), provider.MemberPermanent)
	}
}

func TestConcurrentPuts(t *testing.T) {
	srv := startSSHD(t)
	dir := filepath.Join(t.TempDir(), "sessions")
	p := newProvider(t, srv.config(dir))
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	var want []string
	// sshd starts dropping connections that have not authenticated yet
	// beyond MaxStartups (10 by default); stay below it.
	for i := range 6 {
		name := fmt.Sprintf("%d.session", i)
		want = append(want, name)
		wg.Go(func() {
			if err := p.Put(context.Background(), member(name, name)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Put: %v", err)
	}
	names, err := p.List(context.Background())
	if err != nil || !slices.Equal(names, want) {
		t.Fatalf("List = %v, %v; want %v", names, err, want)
	}
	assertOnlyFiles(t, dir, want...)
}

func TestValidate(t *testing.T) {
	key, pub := newEd25519(t)
	fp := Fingerprint(pub)
	good := Config{Host: "10.0.0.5", Port: 22, User: "ubuntu", PrivateKey: key, HostKey: fp, Dir: "/home/ubuntu/sessions"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}

	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no host", func(c *Config) { c.Host = "" }, "host is required"},
		{"host with port", func(c *Config) { c.Host = "example.com:22" }, "must not include a port"},
		{"bad port", func(c *Config) { c.Port = 70000 }, "port"},
		{"no user", func(c *Config) { c.User = "" }, "user is required"},
		{"no auth", func(c *Config) { c.PrivateKey = "" }, "one of private_key and password is required"},
		{"both auth", func(c *Config) { c.Password = "pw" }, "exactly one of private_key and password"},
		{"bad key", func(c *Config) { c.PrivateKey = "not a key" }, "private_key is not a valid private key"},
		{"no host key", func(c *Config) { c.HostKey = "" }, "host_key or known_hosts is required"},
		{"both host keys", func(c *Config) { c.KnownHosts = "x" }, "only one of host_key and known_hosts"},
		{"md5 fingerprint", func(c *Config) { c.HostKey = "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48" }, "not an OpenSSH SHA256 fingerprint"},
		{"short fingerprint", func(c *Config) { c.HostKey = "SHA256:abcd" }, "not an OpenSSH SHA256 fingerprint"},
		{"bad known_hosts", func(c *Config) { c.HostKey, c.KnownHosts = "", "host-without-key\n" }, "known_hosts"},
		{"only revoked", func(c *Config) {
			c.HostKey, c.KnownHosts = "", "@revoked * "+string(ssh.MarshalAuthorizedKey(pub))
		}, "known_hosts lists no host keys"},
		{"no dir", func(c *Config) { c.Dir = "" }, "dir is required"},
		{"relative dir", func(c *Config) { c.Dir = "sessions" }, "must be an absolute path"},
		{"unclean dir", func(c *Config) { c.Dir = "/home/ubuntu/../root/" }, "is not clean"},
		{"root dir", func(c *Config) { c.Dir = "/" }, "must not be the root"},
		{"negative timeout", func(c *Config) { c.DialTimeout = -1 }, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.modify(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error mentioning %q", err, tc.want)
			}
			if _, err := New(c); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}

	// Accepted variants.
	for name, modify := range map[string]func(*Config){
		"password":           func(c *Config) { c.PrivateKey, c.Password = "", "pw" },
		"padded fingerprint": func(c *Config) { c.HostKey = fp + "=" },
		"ipv6 host":          func(c *Config) { c.Host = "::1" },
		"default port":       func(c *Config) { c.Port = 0 },
		"known_hosts":        func(c *Config) { c.HostKey, c.KnownHosts = "", knownhosts.Line([]string{"10.0.0.5"}, pub) },
		"known_hosts with CA": func(c *Config) {
			c.HostKey, c.KnownHosts = "", "@cert-authority *.example.com "+string(ssh.MarshalAuthorizedKey(pub))
		},
		"known_hosts hashed too": func(c *Config) {
			c.HostKey, c.KnownHosts = "", knownhosts.HashHostname("10.0.0.5")+" "+string(ssh.MarshalAuthorizedKey(pub))
		},
	} {
		c := good
		modify(&c)
		if _, err := New(c); err != nil {
			t.Errorf("%s: New: %v", name, err)
		}
	}
}

func TestStringHidesSecrets(t *testing.T) {
	key, pub := newEd25519(t)
	c := Config{Host: "10.0.0.5", User: "ubuntu", PrivateKey: key, Password: "hunter2", HostKey: Fingerprint(pub), Dir: "/srv/s"}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v", c)} {
		if strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, "hunter2") {
			t.Fatalf("String leaks a secret: %s", s)
		}
		if !strings.Contains(s, "ubuntu@10.0.0.5:22/srv/s") {
			t.Fatalf("String = %s", s)
		}
	}
}

func TestKnownHostsAlgorithms(t *testing.T) {
	_, pub := newEd25519(t)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	parse := func(s string) []knownHostKey {
		keys, err := parseKnownHosts(s)
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got := knownHostsAlgorithms(parse("host " + line)); !slices.Equal(got, []string{ssh.KeyAlgoED25519}) {
		t.Errorf("plain entry: %v", got)
	}
	if got := knownHostsAlgorithms(parse("@cert-authority * " + line)); got != nil {
		t.Errorf("CA entry: %v, want nil (defaults)", got)
	}
	if got := algorithmsFor(ssh.KeyAlgoRSA); !slices.Equal(got, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}) {
		t.Errorf("rsa: %v", got)
	}
}

// A remembered host key algorithm the server no longer has is forgotten.
func TestStaleLearnedAlgorithms(t *testing.T) {
	srv := startSSHD(t)
	p := newProvider(t, srv.config(t.TempDir()))
	learnedAlgos.Store(p.learnKey, []string{ssh.KeyAlgoECDSA521})
	if err := p.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if v, ok := learnedAlgos.Load(p.learnKey); ok {
		t.Fatalf("stale entry %v kept", v)
	}
}
