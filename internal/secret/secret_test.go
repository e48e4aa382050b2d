package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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

func TestLoadCreatesKeyFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.key")
	k1, created, err := Load("", path)
	if err != nil || !created || len(k1) != 32 {
		t.Fatalf("first load: %v created=%v", err, created)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := Load("", path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second load: %v created=%v same=%v", err, created, bytes.Equal(k1, k2))
	}
	if _, _, err := Load("not base64!", path); err == nil {
		t.Fatal("bad env key accepted")
	}
}
