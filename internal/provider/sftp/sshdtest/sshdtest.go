// Package sshdtest starts a real OpenSSH sshd on loopback for tests, with
// fresh host keys and one authorised client key.
package sshdtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/berthhq/berth/internal/syncbuf"
)

const sshdPath = "/usr/sbin/sshd"

// Server is a real OpenSSH sshd listening on loopback for one test.
type Server struct {
	Host      string
	Port      int
	User      string
	Ed25519   ssh.PublicKey // host keys
	ECDSA     ssh.PublicKey
	ClientKey string // private key accepted by authorized_keys (OpenSSH PEM)
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// NewPrivateKey returns key in OpenSSH private key format and its public key.
func NewPrivateKey(t testing.TB, key crypto.Signer) (string, ssh.PublicKey) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), pub
}

// NewEd25519 returns a fresh Ed25519 key in OpenSSH format and its public key.
func NewEd25519(t testing.TB) (string, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return NewPrivateKey(t, priv)
}

// FreePort returns a loopback port that nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts sshd with an Ed25519 and an ECDSA host key and one
// authorised client key, and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skip("openssh-server not installed (/usr/sbin/sshd); .ci/run installs it")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// Privilege separation directory; Debian creates it at boot only.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("create /run/sshd: %v", err)
		}
	}

	dir := t.TempDir()
	srv := &Server{Host: "127.0.0.1", User: u.Username}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	edPEM, edPub := NewEd25519(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM, ecPub := NewPrivateKey(t, ecKey)
	srv.Ed25519, srv.ECDSA = edPub, ecPub
	edPath, ecPath := write("host_ed25519", edPEM), write("host_ecdsa", ecPEM)

	clientPEM, clientPub := NewEd25519(t)
	srv.ClientKey = clientPEM
	akPath := write("authorized_keys", string(ssh.MarshalAuthorizedKey(clientPub)))

	log := &syncbuf.Buffer{} // written by exec's copier goroutine
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sshd log:\n%s", log)
		}
	})

	for try := 1; ; try++ {
		srv.Port = FreePort(t)
		cfgPath := write("sshd_config", strings.Join([]string{
			"ListenAddress " + srv.Addr(),
			"HostKey " + edPath,
			"HostKey " + ecPath,
			"PidFile " + filepath.Join(dir, "sshd.pid"),
			"AuthorizedKeysFile " + akPath,
			"UsePAM no",
			"StrictModes no",
			"PermitRootLogin yes",
			"PubkeyAuthentication yes",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UseDNS no",
			"PrintMotd no",
			"LogLevel VERBOSE",
			"Subsystem sftp internal-sftp",
			"",
		}, "\n"))
		cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfgPath)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sshd: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}

		if waitListening(srv.Addr(), exited) {
			t.Cleanup(stop)
			return srv
		}
		stop()
		if try == 3 {
			t.Fatalf("sshd did not start listening on %s; log:\n%s", srv.Addr(), log)
		}
	}
}

// waitListening waits until addr accepts connections, for up to 10s, or until
// exited is closed.
func waitListening(addr string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
