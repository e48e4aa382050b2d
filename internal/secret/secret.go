// Package secret seals secrets and credential files at rest with AES-256-GCM.
//
// The key comes from BERTH_SECRET_KEY (base64 of 32 bytes) or from a key file
// (0600) created on the first start of an empty database. Every sealed value
// starts with a version byte so the format can change without ambiguity.
//
// A key has an id (KeyID) derived from it by a one-way hash: the database
// records the id of the key its values are sealed under (store/keys.go), so a
// start with another key is refused with both ids named instead of failing
// later on every sealed value.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const version byte = 1

// Box seals and opens values with one key, and computes keyed lookup hashes
// with a subkey derived from it.
type Box struct {
	aead   cipher.AEAD
	macKey []byte
	id     string
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mk := sha256.Sum256(append([]byte("berth lookup v1\x00"), key...))
	return &Box{aead: aead, macKey: mk[:], id: KeyID(key)}, nil
}

// KeyID names a key without revealing it: "k1-" and 16 hex digits of a
// SHA-256 of the key under a label of its own (unrelated to the sealing and
// lookup keys). Two keys with the same id are the same key.
func KeyID(key []byte) string {
	h := sha256.Sum256(append([]byte("berth key id v1\x00"), key...))
	return "k1-" + hex.EncodeToString(h[:8])
}

// KeyID is the id of the box's key.
func (b *Box) KeyID() string { return b.id }

// MAC returns HMAC-SHA256 of data under the lookup subkey, hex-encoded: a
// value can be found by it without the database revealing the value.
func (b *Box) MAC(data []byte) string {
	m := hmac.New(sha256.New, b.macKey)
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// Seal encrypts plain. The result is version || nonce || ciphertext+tag.
func (b *Box) Seal(plain []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
	out := make([]byte, 0, 1+len(nonce)+len(plain)+b.aead.Overhead())
	out = append(out, version)
	out = append(out, nonce...)
	return b.aead.Seal(out, nonce, plain, []byte{version})
}

// ErrOpen means a sealed value could not be opened: wrong key or tampering.
var ErrOpen = errors.New("secret: cannot open sealed value (wrong BERTH_SECRET_KEY or key file?)")

// Open decrypts a value made by Seal.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte{version})
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// ErrBadEnvKey is a BERTH_SECRET_KEY that is not base64 of 32 bytes.
var ErrBadEnvKey = errors.New("BERTH_SECRET_KEY must be the base64 encoding of 32 random bytes (try: head -c32 /dev/urandom | base64)")

// Parse reads BERTH_SECRET_KEY's format: base64 of 32 bytes.
func Parse(env string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(env))
	if err != nil || len(key) != 32 {
		return nil, ErrBadEnvKey
	}
	return key, nil
}

// ReadFile reads a key file. A missing file is an error that matches
// os.ErrNotExist; berth never makes a key in its place unless the database
// holds nothing sealed (app.OpenStore).
func ReadFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("key file %s is not base64 of 32 bytes", path)
	}
	return key, nil
}

// NewKey returns 32 random bytes.
func NewKey() []byte {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
	return key
}

// CreateFile writes a fresh random key to a new file (mode 0600; an
// existing file is never replaced) and returns the key.
func CreateFile(path string) ([]byte, error) {
	key := NewKey()
	return key, WriteFile(path, key)
}

// WriteFile writes key to a new file, mode 0600, and syncs the file and its
// directory so the key is on disk before anything is sealed under it. It
// fails if the file exists.
func WriteFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir makes a file's creation or renaming in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
