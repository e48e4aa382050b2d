// Package secret seals secrets and credential files at rest with AES-256-GCM.
//
// The key comes from BERTH_SECRET_KEY (base64 of 32 bytes) or from a key file
// created on first run (0600) next to the database. Every sealed value starts
// with a version byte so the format can change without ambiguity.
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
	"strings"
)

const version byte = 1

// Box seals and opens values with one key, and computes keyed lookup hashes
// with a subkey derived from it.
type Box struct {
	aead   cipher.AEAD
	macKey []byte
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
	return &Box{aead: aead, macKey: mk[:]}, nil
}

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

// Load returns the key from env (BERTH_SECRET_KEY) or keyFile, creating the
// file with a fresh random key when neither exists. created reports that a
// new key file was written, so the caller can warn that it must be backed up.
func Load(env, keyFile string) (key []byte, created bool, err error) {
	if env != "" {
		key, err = base64.StdEncoding.DecodeString(strings.TrimSpace(env))
		if err != nil || len(key) != 32 {
			return nil, false, errors.New("BERTH_SECRET_KEY must be the base64 encoding of 32 random bytes (try: head -c32 /dev/urandom | base64)")
		}
		return key, false, nil
	}
	data, err := os.ReadFile(keyFile)
	if err == nil {
		key, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(key) != 32 {
			return nil, false, fmt.Errorf("key file %s is not base64 of 32 bytes", keyFile)
		}
		return key, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read key file: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	return key, true, f.Sync()
}
