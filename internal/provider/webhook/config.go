package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/egress"
	"github.com/berthhq/berth/internal/provider"
)

// DefaultTimeout bounds one delivery when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// MinSecretLen is the shortest signing secret accepted, in bytes.
const MinSecretLen = 16

// Config is a webhook team's configuration as stored with the pool.
type Config struct {
	// URL receives the events. It must be https, except for loopback hosts
	// (127.0.0.0/8, ::1, localhost), where http is accepted for tests and
	// local bridges.
	URL string `json:"url"`
	// Secret signs every event (HMAC-SHA256); the receiver verifies with
	// it. At least MinSecretLen bytes, e.g. `openssl rand -hex 32`. String
	// and GoString leave it out and errors never contain it.
	Secret string `json:"secret"`

	// Timeout bounds each delivery; zero means DefaultTimeout.
	Timeout time.Duration `json:"-"`
	// Egress, when set, is the allow-list of addresses the provider may
	// connect to (tests); nil means the one the call's context carries
	// (BERTH_PROVIDER_ALLOWED_HOSTS), by default external addresses only.
	Egress *egress.Policy `json:"-"`
}

// String describes c without its secret, so that a Config can be logged.
func (c Config) String() string {
	sec := "no secret"
	if c.Secret != "" {
		sec = "secret set"
	}
	return fmt.Sprintf("webhook %s (%s)", c.URL, sec)
}

// GoString is String, so that %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

func (c Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// Validate reports the first problem that makes c unusable, in words meant
// for whoever filled in the team's provider settings.
func (c Config) Validate() error {
	if strings.TrimSpace(c.URL) == "" {
		return errors.New(`webhook: url is required, e.g. "https://example.com/berth-hook"`)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("webhook: url %q is not a URL: %v", c.URL, err)
	}
	switch {
	case !u.IsAbs() || u.Host == "":
		return fmt.Errorf(`webhook: url %q must be absolute, e.g. "https://example.com/berth-hook"`, c.URL)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("webhook: url %q must use https", c.URL)
	case u.Scheme == "http" && !provider.IsLoopback(u.Hostname()):
		return fmt.Errorf("webhook: url %q must use https: events name members by e-mail "+
			"(http is accepted only for loopback hosts)", c.URL)
	case u.User != nil:
		return errors.New("webhook: url must not carry a user or password; the receiver checks the signature instead")
	case u.Fragment != "":
		return fmt.Errorf("webhook: url %q must not have a fragment", c.URL)
	}
	switch {
	case c.Secret == "":
		return errors.New("webhook: secret is required: every event is signed with it (e.g. the output of `openssl rand -hex 32`)")
	case len(c.Secret) < MinSecretLen:
		return fmt.Errorf("webhook: secret must be at least %d bytes long (e.g. the output of `openssl rand -hex 32`)", MinSecretLen)
	case c.Timeout < 0:
		return errors.New("webhook: timeout must not be negative")
	}
	return nil
}
