package sftp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/egress"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/providertest"
)

// loopback lets the provider reach the test servers on 127.0.0.1.
var loopback = providertest.Loopback

// TestAllowListRefusesInternalHost runs against a real sshd on 127.0.0.1:
// under the default allow-list Check and Put fail pool-permanent naming the
// setting, also when the host is given as "localhost", and no file is
// written; with loopback (configuration or context) the file is delivered.
func TestAllowListRefusesInternalHost(t *testing.T) {
	srv := startSSHD(t)
	dir := filepath.Join(t.TempDir(), "sessions")
	ctx := context.Background()
	m := member("639277333688.session", "session-bytes")
	for _, host := range []string{srv.Host, "localhost"} {
		cfg := srv.config(dir)
		cfg.Host = host
		p, err := New(cfg) // no Egress: the default
		if err != nil {
			t.Fatal(err)
		}
		providertest.WantRefused(t, ctx, p, m, host, "is not allowed: set BERTH_PROVIDER_ALLOWED_HOSTS (now: external)")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s exists after refused connections (%v)", dir, err)
	}

	byConfig := srv.config(dir)
	byConfig.Egress = loopback
	if err := newProvider(t, byConfig).Put(ctx, m); err != nil {
		t.Fatalf("loopback in the configuration: %v", err)
	}
	byCtx, err := New(srv.config(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := byCtx.Check(egress.NewContext(ctx, loopback)); err != nil {
		t.Fatalf("loopback in the context: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "639277333688.session")); err != nil || string(got) != "session-bytes" {
		t.Fatalf("delivered %q, %v", got, err)
	}
}

// TestMetadataHostRefused: 169.254.169.254 is refused at once, before a
// packet is sent (the check runs before connect).
func TestMetadataHostRefused(t *testing.T) {
	key, pub := newEd25519(t)
	p, err := New(Config{Host: "169.254.169.254", User: "root", PrivateKey: key, HostKey: Fingerprint(pub), Dir: "/srv/s"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Check(context.Background())
	if provider.Classify(err) != provider.PoolPermanent ||
		!strings.Contains(err.Error(), "provider address 169.254.169.254 is not allowed: set BERTH_PROVIDER_ALLOWED_HOSTS (now: external)") {
		t.Fatalf("Check: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the refusal took %v", d)
	}
}
