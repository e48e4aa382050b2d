// Package codes makes and reads redeem codes and e-mail addresses as people
// type them. A code is 80 random bits written in Crockford's base32 (no I, L,
// O or U, so nothing reads two ways), grouped by four for reading, with an
// optional prefix: "VIP-7K2Q-M9XD-4TNE-B3WA". Input is case-insensitive;
// spaces and dashes are ignored and I/L read as 1, O as 0.
package codes

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Bits is the entropy of a generated code.
const Bits = 80

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9]{1,8}$`)

// ValidatePrefix checks an optional code prefix.
func ValidatePrefix(p string) error {
	if p == "" {
		return nil
	}
	if !prefixRE.MatchString(p) || strings.ContainsAny(strings.ToUpper(p), "U") {
		return fmt.Errorf("prefix %q: use 1-8 letters or digits, not U", p)
	}
	return nil
}

// New returns a fresh code, formatted for display.
func New(prefix string) string {
	var b [Bits / 8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("codes: no randomness: " + err.Error())
	}
	// 80 bits = 16 groups of 5 bits.
	var sb strings.Builder
	if prefix != "" {
		sb.WriteString(strings.ToUpper(prefix))
		sb.WriteByte('-')
	}
	acc, n := uint32(0), 0
	written := 0
	for _, x := range b {
		acc = acc<<8 | uint32(x)
		n += 8
		for n >= 5 {
			n -= 5
			if written > 0 && written%4 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(alphabet[(acc>>n)&31])
			written++
		}
	}
	return sb.String()
}

// ErrMalformed means the input cannot be a code at all.
var ErrMalformed = errors.New("that is not a redeem code: check it and type it again")

// Normalize reduces a typed code to its canonical form (what is hashed for
// lookup): upper case, no separators, I/L→1, O→0.
func Normalize(in string) (string, error) {
	var sb strings.Builder
	for _, r := range strings.TrimSpace(in) {
		switch {
		case r == '-' || r == ' ' || r == '_' || r == '.':
			continue
		case r > unicode.MaxASCII:
			return "", ErrMalformed
		}
		r = unicode.ToUpper(r)
		switch r {
		case 'I', 'L':
			r = '1'
		case 'O':
			r = '0'
		}
		if !strings.ContainsRune(alphabet, r) {
			return "", ErrMalformed
		}
		sb.WriteRune(r)
	}
	s := sb.String()
	if len(s) < 16 || len(s) > 24 {
		return "", ErrMalformed
	}
	return s, nil
}

// Hint is the last four characters of a normalised code, for admin search.
func Hint(normalized string) string {
	if len(normalized) < 4 {
		return normalized
	}
	return normalized[len(normalized)-4:]
}

// Email normalises and validates an address: trimmed, lower-cased, a bare
// addr-spec with a dotted domain.
func Email(in string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(in))
	if s == "" {
		return "", errors.New("email is required")
	}
	if len(s) > 254 {
		return "", errors.New("email is longer than 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fmt.Errorf("%q is not an email address like name@example.com", in)
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", fmt.Errorf("%q is not an email address like name@example.com", in)
	}
	return s, nil
}
