package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("session bytes")
	s1, s2 := b.Seal(plain), b.Seal(plain)
	if bytes.Equal(s1, s2) {
		t.Fatal("two seals of the same value are equal: nonce reuse")
	}
	if bytes.Contains(s1, plain) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := b.Open(s1)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open = %q, %v", got, err)
	}
	s1[len(s1)-1] ^= 1
	if _, err := b.Open(s1); !errors.Is(err, ErrOpen) {
		t.Fatalf("tampered value opened: %v", err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(s2); !errors.Is(err, ErrOpen) {
		t.Fatalf("wrong key opened: %v", err)
	}
	if _, err := b.Open(nil); !errors.Is(err, ErrOpen) {
		t.Fatal("empty value opened")
	}
}

func TestKeyFileCreatedPrivateAndNeverReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.key")
	if _, err := ReadFile(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing key file: %v, want ErrNotExist (never made by reading)", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("reading a missing key file made one")
	}
	k1, err := CreateFile(path)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create: %v", err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := ReadFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("read back: %v same=%v", err, bytes.Equal(k1, k2))
	}
	if _, err := CreateFile(path); err == nil {
		t.Fatal("an existing key file was replaced")
	}
	if k3, _ := ReadFile(path); !bytes.Equal(k1, k3) {
		t.Fatal("key file changed")
	}
	if _, err := Parse("not base64!"); err == nil {
		t.Fatal("bad env key accepted")
	}
}

func TestKeyID(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	a, _ := New(k1)
	b, _ := New(k2)
	if a.KeyID() != KeyID(k1) || a.KeyID() == b.KeyID() || len(a.KeyID()) != 19 || !strings.HasPrefix(a.KeyID(), "k1-") {
		t.Fatalf("ids %q %q", a.KeyID(), b.KeyID())
	}
	if strings.Contains(a.MAC(nil), a.KeyID()[3:]) {
		t.Fatal("the key id is a lookup hash")
	}
}
