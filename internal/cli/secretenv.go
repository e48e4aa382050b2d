package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/telegram"
)

// maxSecretFile bounds what envSecret reads from a secret file: a path
// naming something else (a log, /dev/zero) is refused, not read whole.
const maxSecretFile = 64 << 10

// envSecret reads a secret setting: the variable name, or the file named by
// name_FILE (Docker and Kubernetes secrets), its trailing newline trimmed.
// Both set is an error, and so is a file that cannot be read, is empty or is
// larger than 64 KiB. Errors name the variable and the file, never the
// secret.
func envSecret(name string) (string, error) {
	v := os.Getenv(name)
	path := os.Getenv(name + "_FILE")
	if path == "" {
		return v, nil
	}
	if v != "" {
		return "", fmt.Errorf("%s and %s_FILE are both set: set one of them", name, name)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: cannot read %s: %w", name, path, pathErr(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("%s_FILE: cannot read %s: %w", name, path, pathErr(err))
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("%s_FILE: %s is larger than 64 KiB: not a secret file", name, path)
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s_FILE: %s is empty", name, path)
	}
	return s, nil
}

// pathErr drops the path from a *fs.PathError (the message names it
// already) and keeps the reason.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// secretsFromEnv reads serve's secret settings into cfg, each from its
// variable or its _FILE: BERTH_ADMIN_TOKEN, BERTH_ADMIN_PASSWORD,
// BERTH_SECRET_KEY, BERTH_SMTP_URL, BERTH_METRICS_TOKEN and
// BERTH_TELEGRAM_TOKEN. It runs after cfg.Metrics and cfg.Telegram were read
// from the environment (metrics.ConfigFromEnv, telegram.ConfigFromEnv), whose
// tokens it replaces by the ones it reads.
func secretsFromEnv(cfg *app.Config) error {
	var err error
	// Literal names: config_doc_test.go finds the _FILE settings in calls
	// of envSecret.
	if cfg.AdminToken, err = envSecret("BERTH_ADMIN_TOKEN"); err != nil {
		return err
	}
	if cfg.AdminPassword, err = envSecret("BERTH_ADMIN_PASSWORD"); err != nil {
		return err
	}
	if cfg.SecretKey, err = envSecret("BERTH_SECRET_KEY"); err != nil {
		return err
	}
	if cfg.SMTPURL, err = envSecret("BERTH_SMTP_URL"); err != nil {
		return err
	}
	tok, err := envSecret("BERTH_METRICS_TOKEN")
	if err != nil {
		return err
	}
	if err := metrics.CheckToken(tok); err != nil { // for a token from the file too
		return err
	}
	cfg.Metrics.Token = tok
	if tok, err = envSecret(telegram.EnvToken); err != nil {
		return err
	}
	if tok != cfg.Telegram.Token { // from the file: check it with the chats again
		tg, err := telegram.ParseConfig(tok, os.Getenv(telegram.EnvChats), os.Getenv(telegram.EnvAPI))
		if err != nil {
			return err
		}
		tg.Operators = cfg.Telegram.Operators
		cfg.Telegram = tg
	}
	return nil
}
