package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app"
)

// secretFile writes content to a new file and returns its path.
func secretFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnvSecret(t *testing.T) {
	const name = "BERTH_TEST_SECRET"
	const secret = "s3cret-value-0123456789"
	big := strings.Repeat("x", maxSecretFile+1)
	for _, c := range []struct {
		what, value, file string
		noFile            bool // name_FILE names a file that does not exist
		dir               bool // name_FILE names a directory
		want, err         string
	}{
		{what: "neither", want: ""},
		{what: "value", value: secret, want: secret},
		{what: "file", file: secret + "\n", want: secret},
		{what: "file with CRLF", file: secret + "\r\n", want: secret},
		{what: "file without newline", file: secret, want: secret},
		{what: "inner spaces kept", file: " a b \n", want: " a b "},
		{what: "both", value: secret, file: secret + "\n", err: "BERTH_TEST_SECRET and BERTH_TEST_SECRET_FILE are both set: set one of them"},
		{what: "empty file", file: "", err: "is empty"},
		{what: "newline only", file: "\n", err: "is empty"},
		{what: "missing file", noFile: true, err: "BERTH_TEST_SECRET_FILE: cannot read "},
		{what: "directory", dir: true, err: "BERTH_TEST_SECRET_FILE: cannot read "},
		{what: "too large", file: big, err: "larger than 64 KiB"},
	} {
		t.Run(c.what, func(t *testing.T) {
			t.Setenv(name, c.value)
			path := ""
			switch {
			case c.noFile:
				path = filepath.Join(t.TempDir(), "absent")
			case c.dir:
				path = t.TempDir()
			case c.file != "" || c.err == "is empty":
				path = secretFile(t, c.file)
			}
			t.Setenv(name+"_FILE", path)
			got, err := envSecret(name)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("envSecret = %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("envSecret = %q, %v; want an error with %q", got, err, c.err)
			}
			if got != "" {
				t.Errorf("envSecret returned %q with its error", got)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "xxxx") {
				t.Errorf("the error shows the secret: %v", err)
			}
			if path != "" && c.err != "" && !strings.Contains(err.Error(), path) && !strings.Contains(c.err, "both") {
				t.Errorf("the error does not name the file %s: %v", path, err)
			}
		})
	}
}

// clearSecrets unsets serve's secrets and their files for one test.
func clearSecrets(t *testing.T) {
	for _, n := range []string{"BERTH_ADMIN_TOKEN", "BERTH_ADMIN_PASSWORD", "BERTH_SECRET_KEY", "BERTH_SMTP_URL", "BERTH_METRICS_TOKEN", "BERTH_TELEGRAM_TOKEN"} {
		t.Setenv(n, "")
		t.Setenv(n+"_FILE", "")
	}
	t.Setenv("BERTH_TELEGRAM_CHATS", "")
}

// TestServeReadsSecretFiles reads every secret of serve from a file, as
// Docker and Kubernetes secrets give them.
func TestServeReadsSecretFiles(t *testing.T) {
	clearSecrets(t)
	files := map[string]string{
		"BERTH_ADMIN_TOKEN":    "admin-token-0123456789abcdef",
		"BERTH_ADMIN_PASSWORD": "correct horse battery staple",
		"BERTH_SECRET_KEY":     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"BERTH_SMTP_URL":       "smtp://u:p@mail.example.com:587?from=berth@example.com",
		"BERTH_METRICS_TOKEN":  "metrics-token-0123456789",
		"BERTH_TELEGRAM_TOKEN": "123456:telegram-bot-token",
	}
	for n, v := range files {
		t.Setenv(n+"_FILE", secretFile(t, v+"\n"))
	}
	t.Setenv("BERTH_TELEGRAM_CHATS", "42,-100")
	t.Setenv("BERTH_TELEGRAM_OPERATORS", "7")
	var cfg app.Config
	if err := serveEnv(&cfg); err != nil {
		t.Fatal(err)
	}
	for n, got := range map[string]string{
		"BERTH_ADMIN_TOKEN": cfg.AdminToken, "BERTH_ADMIN_PASSWORD": cfg.AdminPassword, "BERTH_SECRET_KEY": cfg.SecretKey,
		"BERTH_SMTP_URL": cfg.SMTPURL, "BERTH_METRICS_TOKEN": cfg.Metrics.Token, "BERTH_TELEGRAM_TOKEN": cfg.Telegram.Token,
	} {
		if got != files[n] {
			t.Errorf("%s from its file = %q, want %q", n, got, files[n])
		}
	}
	if len(cfg.Telegram.Chats) != 2 || len(cfg.Telegram.Operators) != 1 || cfg.Telegram.Operators[0] != 7 {
		t.Errorf("telegram chats %v, operators %v: want the two chats and operator 7", cfg.Telegram.Chats, cfg.Telegram.Operators)
	}

	// A Telegram token from a file is checked as one from the variable: it
	// needs the chats.
	t.Setenv("BERTH_TELEGRAM_CHATS", "")
	if err := serveEnv(&app.Config{}); err == nil || !strings.Contains(err.Error(), "BERTH_TELEGRAM_CHATS is empty") {
		t.Errorf("telegram token file without chats: %v", err)
	}
	t.Setenv("BERTH_TELEGRAM_TOKEN_FILE", "")

	// A metrics token from a file is held to the same 16 characters.
	t.Setenv("BERTH_METRICS_TOKEN_FILE", secretFile(t, "short\n"))
	if err := serveEnv(&app.Config{}); err == nil || !strings.Contains(err.Error(), "at least 16") || strings.Contains(err.Error(), "short") {
		t.Errorf("short metrics token file: %v", err)
	}
}

// TestServeRefusesSecretTwice runs berth serve with a secret given both
// ways: it stops before starting, names both variables and not the secret.
func TestServeRefusesSecretTwice(t *testing.T) {
	clearSecrets(t)
	const token = "admin-token-0123456789abcdef"
	t.Setenv("BERTH_ADMIN_TOKEN", token)
	t.Setenv("BERTH_ADMIN_TOKEN_FILE", secretFile(t, token))
	// A done context: were the secret accepted, serve would stop at once
	// instead of serving until the test times out.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	err := runServe(ctx, []string{"--db", filepath.Join(t.TempDir(), "b.db"), "--listen", "127.0.0.1:0"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "BERTH_ADMIN_TOKEN and BERTH_ADMIN_TOKEN_FILE are both set") {
		t.Fatalf("berth serve: %v; want an error naming both variables", err)
	}
	if strings.Contains(err.Error()+out.String()+errOut.String(), token) {
		t.Errorf("the output shows the secret: %v %q %q", err, out.String(), errOut.String())
	}
}

// TestServeHelpPointsToConfigDoc: berth serve -h lists the flags and names
// the document describing every setting.
func TestServeHelpPointsToConfigDoc(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"serve", "-h"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"-listen", "-db", "-key-file", "NAME_FILE", "docs/configuration.md"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("berth serve -h does not say %q:\n%s", want, errOut.String())
		}
	}
}
