package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams are berth's password hashing costs: argon2id with t=2 and
// m=64 MiB, one lane, a 16-byte salt and a 32-byte hash. They lie between
// OWASP's minimum (m=19 MiB, t=2) and RFC 9106's second recommendation
// (m=64 MiB, t=3). One hash takes about 110 ms on one core of a 2-core
// x86-64 build machine (about 220 ms under the race detector); the Service
// runs at most two at once, so sign-in cannot take more than 128 MiB.
var DefaultParams = Params{Time: 2, Memory: 64 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read from a stored hash, so a corrupt or hostile row
// cannot make a verification take minutes or gigabytes.
const (
	maxTime    = 16
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxThreads = 16
)

// ErrHashFormat is a stored hash berth cannot read.
var ErrHashFormat = errors.New("password hash is not in the $argon2id$v=19$m=…,t=…,p=…$salt$hash format")

// HashPassword hashes password with p in the PHC string format:
//
//	$argon2id$v=19$m=65536,t=2,p=1$<salt, base64 without padding>$<hash, base64 without padding>
func HashPassword(password string, p Params) string {
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decodeHash parses a PHC argon2id string.
func decodeHash(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrHashFormat
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrHashFormat
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) {
		return p, nil, nil, ErrHashFormat
	}
	if p.Time < 1 || p.Time > maxTime || p.Memory < 8 || p.Memory > maxMemory || threads < 1 || threads > maxThreads {
		return p, nil, nil, ErrHashFormat
	}
	p.Threads = uint8(threads)
	if salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrHashFormat
	}
	if key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, ErrHashFormat
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether password matches encoded, comparing in
// constant time. The parameters come from encoded, so hashes made with
// older costs still verify.
func VerifyPassword(password, encoded string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// needsRehash reports whether encoded was made with other costs than p.
func needsRehash(encoded string, p Params) bool {
	got, _, _, err := decodeHash(encoded)
	return err != nil || got.Time != p.Time || got.Memory != p.Memory || got.Threads != p.Threads || got.KeyLen != p.KeyLen
}
