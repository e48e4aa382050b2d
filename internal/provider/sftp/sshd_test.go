package sftp

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/berthhq/berth/internal/provider/sftp/sshdtest"
)

// testServer is a real OpenSSH sshd listening on loopback for one test,
// with the Config that reaches it.
type testServer struct{ *sshdtest.Server }

func startSSHD(t *testing.T) *testServer { return &testServer{sshdtest.Start(t)} }

func newEd25519(t *testing.T) (string, ssh.PublicKey) { return sshdtest.NewEd25519(t) }

func freePort(t *testing.T) int { return sshdtest.FreePort(t) }

// config returns a working Config for s, pinned to its Ed25519 host key and
// delivering into dir.
func (s *testServer) config(dir string) Config {
	return Config{
		Host:       s.Host,
		Port:       s.Port,
		User:       s.User,
		PrivateKey: s.ClientKey,
		HostKey:    Fingerprint(s.Ed25519),
		Dir:        dir,
	}
}

// assertOnlyFiles fails if dir holds anything but the named files, such as
// temporary files left behind.
func assertOnlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s holds %v, want exactly %v (temporary files left behind?)", dir, got, want)
	}
}
