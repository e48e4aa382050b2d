package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnvPositive(t *testing.T) {
	const name = "BERTH_TEST_ENV_POSITIVE"
	for _, tc := range []struct {
		v    string
		d    time.Duration
		n    int
		dErr string // "": no error
		nErr string
	}{
		{v: ""},
		{v: "30s", d: 30 * time.Second, nErr: "want a positive whole number"},
		{v: "1d", d: 24 * time.Hour, nErr: "want a positive whole number"},
		{v: "12", n: 12, dErr: "want a positive duration such as 30s, 2m or 1d"},
		{v: "0", dErr: "positive duration", nErr: "positive whole number"},
		{v: "-2m", dErr: "positive duration", nErr: "positive whole number"},
		{v: "soon", dErr: `BERTH_TEST_ENV_POSITIVE="soon": want a positive duration`, nErr: `BERTH_TEST_ENV_POSITIVE="soon": want a positive whole number`},
	} {
		t.Setenv(name, tc.v)
		d, err := envDuration(name)
		if tc.dErr == "" && (err != nil || d != tc.d) || tc.dErr != "" && (err == nil || !strings.Contains(err.Error(), tc.dErr) || d != 0) {
			t.Errorf("envDuration(%q) = %v, %v; want %v, error %q", tc.v, d, err, tc.d, tc.dErr)
		}
		n, err := envInt(name)
		if tc.nErr == "" && (err != nil || n != tc.n) || tc.nErr != "" && (err == nil || !strings.Contains(err.Error(), tc.nErr) || n != 0) {
			t.Errorf("envInt(%q) = %v, %v; want %v, error %q", tc.v, n, err, tc.n, tc.nErr)
		}
	}
}

func TestParseBaseURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: ""},
		{in: "https://berth.example.com", want: "https://berth.example.com"},
		{in: "https://berth.example.com/", want: "https://berth.example.com"},
		{in: "https://example.com/berth/", want: "https://example.com/berth"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "berth.example.com", err: "absolute http(s) URL"},
		{in: "/berth", err: "absolute http(s) URL"},
		{in: "ftp://example.com", err: "absolute http(s) URL"},
		{in: "https://", err: "no host"},
		{in: "https://:443/x", err: "no host"},
		{in: "https://a:b@example.com", err: "user"},
		{in: "https://example.com/?x=1", err: "query"},
		{in: "https://example.com/?", err: "query"},
		{in: "https://example.com/#top", err: "fragment"},
		{in: "https://example.com/#", err: "fragment"},
		{in: "https://exa mple.com", err: "not a URL"},
		{in: "https://example.com/admin", err: "one of berth's own paths"},
		{in: "https://example.com/b%20erth", err: "needs escaping"},
	} {
		got, err := parseBaseURL(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || got != "") {
			t.Errorf("parseBaseURL(%q) = %q, %v; want %q, error %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// berth serve refuses a bad BERTH_BASE_URL before opening anything: exit 2,
// naming the variable and what it wants.
func TestServeRefusesBadBaseURL(t *testing.T) {
	t.Setenv("BERTH_BASE_URL", "berth.example.com/berth?x=1")
	db := filepath.Join(t.TempDir(), "berth.db")
	var out, errOut bytes.Buffer
	if code := Main([]string{"serve", "--db", db}, &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut.String())
	}
	if s := errOut.String(); !strings.Contains(s, "BERTH_BASE_URL") || !strings.Contains(s, "https://berth.example.com") {
		t.Errorf("stderr does not say what to fix:\n%s", s)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database was created (%v): the check must come first", err)
	}
}
