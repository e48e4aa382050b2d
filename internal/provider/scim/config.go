package scim

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/berthhq/berth/internal/egress"
	"github.com/berthhq/berth/internal/provider"
)

// DefaultTimeout bounds one HTTP request to the SCIM server when
// Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// What Remove does with a user.
const (
	// DeprovisionDelete deletes the user (DELETE /Users/{id}).
	DeprovisionDelete = "delete"
	// DeprovisionDeactivate keeps the user but sets active=false.
	DeprovisionDeactivate = "deactivate"
)

// Config is a SCIM team's configuration as stored with the pool.
type Config struct {
	// BaseURL is the SCIM service provider's base URL, the one its
	// endpoints hang off, e.g. "https://example.com/scim/v2". It must be
	// https, except for loopback hosts (127.0.0.0/8, ::1, localhost),
	// where http is accepted for tests and local bridges.
	BaseURL string `json:"base_url"`
	// Token is the bearer token sent with every request. It is a secret:
	// String and GoString leave it out and errors never contain it.
	Token string `json:"token"`
	// Deprovision is what removing a member does: DeprovisionDelete (the
	// default when empty) or DeprovisionDeactivate.
	Deprovision string `json:"deprovision,omitempty"`
	// Group, when set, is a group every provisioned user is added to, by
	// its displayName or its id. The group must exist. List then reports
	// the group's active members rather than every active user.
	Group string `json:"group,omitempty"`

	// Timeout bounds each HTTP request; zero means DefaultTimeout.
	Timeout time.Duration `json:"-"`
	// Egress, when set, is the allow-list of addresses the provider may
	// connect to (tests); nil means the one the call's context carries
	// (BERTH_PROVIDER_ALLOWED_HOSTS), by default external addresses only.
	Egress *egress.Policy `json:"-"`
}

// String describes c without its token, so that a Config can be logged.
func (c Config) String() string {
	tok := "no token"
	if c.Token != "" {
		tok = "token set"
	}
	s := fmt.Sprintf("scim %s (%s, deprovision %s", c.BaseURL, tok, c.deprovision())
	if c.Group != "" {
		s += fmt.Sprintf(", group %q", c.Group)
	}
	return s + ")"
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

func (c Config) deprovision() string {
	if c.Deprovision == "" {
		return DeprovisionDelete
	}
	return c.Deprovision
}

func (c Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// Validate reports the first problem that makes c unusable, in words meant
// for whoever filled in the team's provider settings.
func (c Config) Validate() error {
	_, err := c.parse()
	return err
}

// parse checks c and returns its base URL without a trailing slash.
func (c Config) parse() (*url.URL, error) {
	if strings.TrimSpace(c.BaseURL) == "" {
		return nil, errors.New(`scim: base_url is required, e.g. "https://example.com/scim/v2"`)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("scim: base_url %q is not a URL: %v", c.BaseURL, err)
	}
	switch {
	case !u.IsAbs() || u.Host == "":
		return nil, fmt.Errorf(`scim: base_url %q must be absolute, e.g. "https://example.com/scim/v2"`, c.BaseURL)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("scim: base_url %q must use https", c.BaseURL)
	case u.Scheme == "http" && !provider.IsLoopback(u.Hostname()):
		return nil, fmt.Errorf("scim: base_url %q must use https: the bearer token would cross the network in clear "+
			"(http is accepted only for loopback hosts)", c.BaseURL)
	case u.User != nil:
		return nil, fmt.Errorf("scim: base_url must not carry a user or password; put the bearer token in token")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("scim: base_url %q must not have a query or fragment", c.BaseURL)
	}
	switch {
	case c.Token == "":
		return nil, errors.New("scim: token is required (the SCIM bearer token)")
	case strings.ContainsFunc(c.Token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return nil, errors.New("scim: token must not contain spaces or control characters (give the token alone, without \"Bearer \")")
	}
	switch c.Deprovision {
	case "", DeprovisionDelete, DeprovisionDeactivate:
	default:
		return nil, fmt.Errorf("scim: deprovision must be %q or %q, got %q", DeprovisionDelete, DeprovisionDeactivate, c.Deprovision)
	}
	if c.Group != "" && (strings.TrimSpace(c.Group) != c.Group || strings.ContainsFunc(c.Group, unicode.IsControl)) {
		return nil, fmt.Errorf("scim: group %q must not have leading or trailing spaces or control characters", c.Group)
	}
	if c.Timeout < 0 {
		return nil, errors.New("scim: timeout must not be negative")
	}
	base := *u
	base.Path = strings.TrimRight(u.Path, "/")
	base.RawPath = ""
	return &base, nil
}
