package sftp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Fingerprint returns key's OpenSSH SHA256 fingerprint ("SHA256:…"), the form
// Config.HostKey takes.
func Fingerprint(key ssh.PublicKey) string { return ssh.FingerprintSHA256(key) }

// Markers of known_hosts entries as ssh.ParseKnownHosts returns them.
const (
	markerCA      = "cert-authority"
	markerRevoked = "revoked"
)

// knownHostKey is one entry of a known_hosts file.
type knownHostKey struct {
	marker  string // "", markerCA or markerRevoked
	keyType string
}

// parseKnownHosts checks known_hosts contents and returns their entries.
func parseKnownHosts(s string) ([]knownHostKey, error) {
	var keys []knownHostKey
	rest := []byte(s)
	for {
		marker, _, key, _, next, err := ssh.ParseKnownHosts(rest)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("sftp: known_hosts is not a valid known_hosts file: %v", err)
		}
		keys = append(keys, knownHostKey{marker: marker, keyType: key.Type()})
		rest = next
	}
	if !slices.ContainsFunc(keys, func(k knownHostKey) bool { return k.marker != markerRevoked }) {
		return nil, errors.New("sftp: known_hosts lists no host keys")
	}
	return keys, nil
}

// knownHostsCallback loads known_hosts contents into a knownhosts callback.
// knownhosts reads only files, so the contents pass through a temporary file
// that is gone again before this returns.
func knownHostsCallback(contents string) (ssh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "berth-known-hosts-*")
	if err != nil {
		return nil, fmt.Errorf("sftp: known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.WriteString(contents)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("sftp: known_hosts: %w", werr)
	}
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("sftp: known_hosts is not a valid known_hosts file: %v", err)
	}
	return cb, nil
}

// pinAlgorithms are the host key algorithms offered first for a pinned
// fingerprint, Ed25519 first: it is the key people usually pin, while the
// library's default order would have the server show its ECDSA key.
var pinAlgorithms = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// hostKeyFamilies are the host key algorithms offered one family at a time
// when the first handshake shows a key other than the pinned one: a server
// usually has several host keys (Ed25519, ECDSA, RSA) but shows only one per
// handshake, and the pin may be of any of them.
var hostKeyFamilies = [][]string{
	{ssh.KeyAlgoED25519},
	{ssh.KeyAlgoECDSA256},
	{ssh.KeyAlgoECDSA384},
	{ssh.KeyAlgoECDSA521},
	{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256},
}

// algorithmsFor returns the host key algorithms that present a key of the
// given type.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{keyType}
}

// knownHostsAlgorithms returns the algorithms to offer first for a known_hosts
// pool: those of the key types it lists, or nil (the defaults) when it trusts
// a certificate authority, whose host certificates have other algorithm names.
func knownHostsAlgorithms(keys []knownHostKey) []string {
	var algos []string
	for _, k := range keys {
		switch k.marker {
		case markerCA:
			return nil
		case markerRevoked:
			continue
		}
		for _, a := range algorithmsFor(k.keyType) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// knownHostsFamilies returns the families of the key types known_hosts lists.
func knownHostsFamilies(keys []knownHostKey) [][]string {
	var fams [][]string
	for _, k := range keys {
		if k.marker != "" {
			continue
		}
		fam := algorithmsFor(k.keyType)
		if !slices.ContainsFunc(fams, func(f []string) bool { return slices.Equal(f, fam) }) {
			fams = append(fams, fam)
		}
	}
	return fams
}

// seenKey is a host key the server presented.
type seenKey struct {
	keyType, fingerprint string
}

// hostKeyError is a host key the verifier rejected.
type hostKeyError struct {
	kind string    // "mismatch", "unknown" or "revoked"
	host string    // as known_hosts would name it
	seen []seenKey // keys presented, first one first
	want []string  // accepted fingerprints, when known
}

func (e *hostKeyError) Error() string {
	got := "nothing"
	if len(e.seen) > 0 {
		got = e.seen[0].fingerprint
	}
	var b strings.Builder
	switch e.kind {
	case "revoked":
		fmt.Fprintf(&b, "host key %s of %s is marked @revoked in known_hosts", got, e.host)
	case "unknown":
		fmt.Fprintf(&b, "host key not verified: known_hosts has no entry for %s (server presented %s %s)",
			e.host, e.seen[0].keyType, got)
	default:
		fmt.Fprintf(&b, "host key mismatch: got %s want %s", got, strings.Join(e.want, " or "))
		if len(e.seen) > 1 {
			var all []string
			for _, k := range e.seen {
				all = append(all, k.keyType+" "+k.fingerprint)
			}
			fmt.Fprintf(&b, " (server presented: %s)", strings.Join(all, ", "))
		}
	}
	return b.String()
}

// verifier checks host keys against a pinned fingerprint or known_hosts.
type verifier struct {
	pin   string              // normalised fingerprint, or ""
	known ssh.HostKeyCallback // when pin is ""
}

// attempt records what one handshake's host key check saw.
type attempt struct {
	mu  sync.Mutex
	key ssh.PublicKey
	err *hostKeyError
}

func (a *attempt) result() (ssh.PublicKey, *hostKeyError) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.key, a.err
}

// callback returns a host key callback that records into a.
func (v *verifier) callback(a *attempt) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		herr := v.check(host, remote, key)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.key = key
		if herr != nil {
			a.err = herr
			return herr
		}
		return nil
	}
}

func (v *verifier) check(host string, remote net.Addr, key ssh.PublicKey) *hostKeyError {
	got := seenKey{key.Type(), ssh.FingerprintSHA256(key)}
	if v.pin != "" {
		if subtle.ConstantTimeCompare([]byte(got.fingerprint), []byte(v.pin)) == 1 {
			return nil
		}
		return &hostKeyError{kind: "mismatch", host: knownhosts.Normalize(host), seen: []seenKey{got}, want: []string{v.pin}}
	}
	err := v.known(host, remote, key)
	if err == nil {
		return nil
	}
	herr := &hostKeyError{kind: "mismatch", host: knownhosts.Normalize(host), seen: []seenKey{got}}
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &revoked):
		herr.kind = "revoked"
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		herr.kind = "unknown"
	case errors.As(err, &keyErr):
		for _, k := range keyErr.Want {
			herr.want = append(herr.want, ssh.FingerprintSHA256(k.Key))
		}
	default:
		herr.want = []string{"a key from known_hosts (" + err.Error() + ")"}
	}
	return herr
}
