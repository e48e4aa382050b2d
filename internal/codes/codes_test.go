package codes

import (
	"strings"
	"testing"
)

func TestNewAndNormalize(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c := New("vip")
		if !strings.HasPrefix(c, "VIP-") || len(c) != 4+19 {
			t.Fatalf("code %q", c)
		}
		n, err := Normalize(c)
		if err != nil {
			t.Fatalf("normalize %q: %v", c, err)
		}
		if seen[n] {
			t.Fatalf("duplicate code %s", c)
		}
		seen[n] = true
		// Case-insensitive, separators ignored, ambiguous letters folded.
		typed := strings.ToLower(strings.ReplaceAll(c, "-", " "))
		typed = strings.ReplaceAll(strings.ReplaceAll(typed, "1", "l"), "0", "o")
		if m, err := Normalize(typed); err != nil || m != n {
			t.Fatalf("typed %q → %q %v, want %q", typed, m, err, n)
		}
	}
	for _, bad := range []string{"", "abc", "ÄÖÜ-1234-5678-9ABC-DEFG", "UUUU-UUUU-UUUU-UUUU", strings.Repeat("A", 30), "1234-5678-9ABC-DEF!"} {
		if _, err := Normalize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEmail(t *testing.T) {
	good := map[string]string{" User@Example.COM ": "user@example.com", "a.b+tag@sub.example.org": "a.b+tag@sub.example.org"}
	for in, want := range good {
		if got, err := Email(in); err != nil || got != want {
			t.Errorf("Email(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "user", "user@", "@example.com", "user@localhost", "User <u@example.com>", "u@example..com", "u@.example.com", "u@example.com.", "a b@example.com", strings.Repeat("a", 250) + "@example.com"} {
		if _, err := Email(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("VIP-7K2Q-M9XD-4TNE-B3WA")
	f.Add("abcd efgh ijkl mnop")
	f.Fuzz(func(t *testing.T, s string) { idempotent(t, Normalize, s) })
}

// idempotent fails t when norm accepts s but does not give its own result
// back unchanged; it returns the result and whether s was accepted.
func idempotent(t *testing.T, norm func(string) (string, error), s string) (string, bool) {
	t.Helper()
	n, err := norm(s)
	if err != nil {
		return "", false
	}
	if again, err := norm(n); err != nil || again != n {
		t.Fatalf("not idempotent: %q → %q → %q (%v)", s, n, again, err)
	}
	return n, true
}

func FuzzEmail(f *testing.F) {
	f.Add("user@example.com")
	f.Add(" User <u@example.com>")
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := idempotent(t, Email, s)
		if ok && strings.ContainsAny(e, " <>\"\r\n") {
			t.Fatalf("accepted %q", e)
		}
	})
}
