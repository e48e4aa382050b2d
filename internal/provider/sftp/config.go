package sftp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/berthhq/berth/internal/egress"
)

// DefaultDialTimeout bounds the TCP connect, SSH handshake and authentication
// of one connection when Config.DialTimeout is zero.
const DefaultDialTimeout = 10 * time.Second

// DefaultCommandTimeout bounds a run of AfterPut or AfterRemove when
// Config.CommandTimeoutSeconds is zero; MaxCommandTimeout is the largest
// allowed. The delivery job's own limit (BERTH_JOB_TIMEOUT, default 1m)
// also cuts the command: keep the timeout well under it.
const (
	DefaultCommandTimeout = 30 * time.Second
	MaxCommandTimeout     = 5 * time.Minute
)

// Placeholders of AfterPut and AfterRemove, allowed only as whole elements.
const (
	PlaceholderAccount = "{account}"
	PlaceholderFile    = "{file}"
	PlaceholderPath    = "{path}"
)

// maxArgs and maxArgLen bound a command's argv.
const (
	maxArgs   = 64
	maxArgLen = 4096
)

// Config is an sftp pool's configuration as stored with the pool.
type Config struct {
	// Host is the server's name or IP address, without a port.
	Host string `json:"host"`
	// Port is the SSH port; zero means 22.
	Port int `json:"port,omitempty"`
	// User is the account the credential files are delivered as.
	User string `json:"user"`
	// PrivateKey is an unencrypted private key in OpenSSH or PEM format.
	// Exactly one of PrivateKey and Password must be set.
	PrivateKey string `json:"private_key,omitempty"`
	// Password is the account's password, tried with both the "password" and
	// the "keyboard-interactive" methods.
	Password string `json:"password,omitempty"`
	// HostKey pins the server's host key by its OpenSSH SHA256 fingerprint,
	// as printed by `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`, e.g.
	// "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s". It may be the
	// fingerprint of any one of the server's host keys. One of HostKey and
	// KnownHosts is required: the host key is never left unchecked.
	HostKey string `json:"host_key,omitempty"`
	// KnownHosts is the contents of an OpenSSH known_hosts file naming the
	// server (for a port other than 22 as "[host]:port"), e.g. the output of
	// `ssh-keyscan -p PORT HOST`.
	KnownHosts string `json:"known_hosts,omitempty"`
	// Dir is the absolute, clean directory the credential files go into. It
	// is created with mode 0700 when missing.
	Dir string `json:"dir"`

	// AfterPut, when set, is a command run over the same SSH connection
	// after every delivery (a worker reload), as an argv list: the elements
	// "{account}", "{file}" and "{path}" are replaced by the member's
	// account id, its file name and the file's full path. Each element is
	// quoted for the server's POSIX shell (OpenSSH runs every command
	// through the user's shell), never interpolated into a shell line. A
	// non-zero exit fails the delivery (retryable unless the exit code is in
	// PermanentExitCodes).
	AfterPut []string `json:"after_put,omitempty"`
	// AfterRemove is the same after every removal (also when the file was
	// already gone: it must be idempotent).
	AfterRemove []string `json:"after_remove,omitempty"`
	// CommandTimeoutSeconds bounds one run of AfterPut or AfterRemove;
	// zero means DefaultCommandTimeout. A command that outlasts it is
	// killed and the call fails as retryable.
	CommandTimeoutSeconds int `json:"command_timeout_seconds,omitempty"`
	// PermanentExitCodes are the exit codes of AfterPut and AfterRemove
	// that mean this member can never go into this pool (member-permanent);
	// any other non-zero exit is retryable.
	PermanentExitCodes []int `json:"permanent_exit_codes,omitempty"`

	// DialTimeout bounds connecting, the handshake and authentication;
	// zero means DefaultDialTimeout.
	DialTimeout time.Duration `json:"-"`
	// Egress, when set, is the allow-list of addresses the provider may
	// connect to (tests); nil means the one the call's context carries
	// (BERTH_PROVIDER_ALLOWED_HOSTS), by default external addresses only.
	Egress *egress.Policy `json:"-"`
}

// String describes c without its secrets, so that a Config can be logged.
func (c Config) String() string {
	auth := "no credentials"
	switch {
	case c.PrivateKey != "":
		auth = "private key"
	case c.Password != "":
		auth = "password"
	}
	return fmt.Sprintf("sftp://%s@%s%s (%s)", c.User, c.addr(), c.Dir, auth)
}

// port returns the configured port or 22.
func (c Config) port() int {
	if c.Port == 0 {
		return 22
	}
	return c.Port
}

// addr is the host:port to dial, as known_hosts checks it.
func (c Config) addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.port()))
}

func (c Config) dialTimeout() time.Duration {
	if c.DialTimeout == 0 {
		return DefaultDialTimeout
	}
	return c.DialTimeout
}

// Validate reports the first problem that makes c unusable, in words meant
// for whoever filled in the pool's configuration.
func (c Config) Validate() error {
	_, err := c.parse()
	return err
}

// parsed is what New needs from a valid Config.
type parsed struct {
	auth       []ssh.AuthMethod
	pin        string         // normalised "SHA256:…" fingerprint, or ""
	knownHosts []knownHostKey // entries of KnownHosts, or nil
}

func (c Config) parse() (*parsed, error) {
	var p parsed
	switch {
	case strings.TrimSpace(c.Host) == "":
		return nil, errors.New("sftp: host is required")
	case strings.ContainsAny(c.Host, " \t\r\n/@"):
		return nil, fmt.Errorf("sftp: host %q is not a host name or IP address", c.Host)
	case strings.Contains(c.Host, ":") && net.ParseIP(c.Host) == nil:
		return nil, fmt.Errorf("sftp: host %q must not include a port; set port instead", c.Host)
	case c.Port < 0 || c.Port > 65535:
		return nil, fmt.Errorf("sftp: port %d is out of range 1-65535", c.Port)
	case c.User == "":
		return nil, errors.New("sftp: user is required")
	case c.DialTimeout < 0:
		return nil, errors.New("sftp: dial timeout must not be negative")
	}

	switch {
	case c.PrivateKey != "" && c.Password != "":
		return nil, errors.New("sftp: set exactly one of private_key and password, not both")
	case c.PrivateKey != "":
		signer, err := ssh.ParsePrivateKey([]byte(c.PrivateKey))
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, errors.New("sftp: private_key is protected by a passphrase; supply an unencrypted key")
		}
		if err != nil {
			return nil, fmt.Errorf("sftp: private_key is not a valid private key: %v", err)
		}
		p.auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
	case c.Password != "":
		p.auth = []ssh.AuthMethod{
			ssh.Password(c.Password),
			ssh.KeyboardInteractive(answerWith(c.Password)),
		}
	default:
		return nil, errors.New("sftp: one of private_key and password is required")
	}

	switch {
	case c.HostKey != "" && c.KnownHosts != "":
		return nil, errors.New("sftp: set only one of host_key and known_hosts")
	case c.HostKey != "":
		pin, err := normaliseFingerprint(c.HostKey)
		if err != nil {
			return nil, err
		}
		p.pin = pin
	case strings.TrimSpace(c.KnownHosts) != "":
		keys, err := parseKnownHosts(c.KnownHosts)
		if err != nil {
			return nil, err
		}
		p.knownHosts = keys
	default:
		return nil, errors.New("sftp: host_key or known_hosts is required to verify the server " +
			"(get the fingerprint with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the server)")
	}

	switch {
	case c.Dir == "":
		return nil, errors.New("sftp: dir is required")
	case !path.IsAbs(c.Dir):
		return nil, fmt.Errorf("sftp: dir %q must be an absolute path", c.Dir)
	case path.Clean(c.Dir) != c.Dir:
		return nil, fmt.Errorf("sftp: dir %q is not clean; use %q", c.Dir, path.Clean(c.Dir))
	case c.Dir == "/":
		return nil, errors.New("sftp: dir must not be the root directory")
	case strings.ContainsRune(c.Dir, 0):
		return nil, errors.New("sftp: dir contains a NUL byte")
	}
	for _, cmd := range []struct {
		name string
		argv []string
	}{{"after_put", c.AfterPut}, {"after_remove", c.AfterRemove}} {
		if err := checkArgv(cmd.name, cmd.argv); err != nil {
			return nil, err
		}
	}
	switch {
	case c.CommandTimeoutSeconds < 0:
		return nil, errors.New("sftp: command_timeout_seconds must not be negative")
	case time.Duration(c.CommandTimeoutSeconds)*time.Second > MaxCommandTimeout:
		return nil, fmt.Errorf("sftp: command_timeout_seconds %d is more than the largest allowed, %d",
			c.CommandTimeoutSeconds, int(MaxCommandTimeout/time.Second))
	case (c.CommandTimeoutSeconds != 0 || len(c.PermanentExitCodes) > 0) && len(c.AfterPut) == 0 && len(c.AfterRemove) == 0:
		return nil, errors.New("sftp: command_timeout_seconds and permanent_exit_codes apply to after_put and after_remove; set one of them")
	}
	for _, code := range c.PermanentExitCodes {
		if code < 1 || code > 255 {
			return nil, fmt.Errorf("sftp: permanent_exit_codes: %d is not an exit code from 1 to 255", code)
		}
	}
	return &p, nil
}

// commandTimeout returns the configured command timeout or the default.
func (c Config) commandTimeout() time.Duration {
	if c.CommandTimeoutSeconds == 0 {
		return DefaultCommandTimeout
	}
	return time.Duration(c.CommandTimeoutSeconds) * time.Second
}

// checkArgv checks the argv list of the setting name (after_put or
// after_remove); an empty list means no command.
func checkArgv(name string, argv []string) error {
	if len(argv) == 0 {
		return nil
	}
	if len(argv) > maxArgs {
		return fmt.Errorf("sftp: %s has %d elements, more than %d", name, len(argv), maxArgs)
	}
	if strings.TrimSpace(argv[0]) == "" || isPlaceholder(argv[0]) {
		return fmt.Errorf("sftp: %s[0] must name the program to run, e.g. \"/usr/local/bin/reload-worker\"", name)
	}
	for i, a := range argv {
		switch {
		case len(a) > maxArgLen:
			return fmt.Errorf("sftp: %s[%d] is longer than %d bytes", name, i, maxArgLen)
		case strings.ContainsAny(a, "\x00\r\n"):
			return fmt.Errorf("sftp: %s[%d] contains a NUL byte or a line break", name, i)
		case !isPlaceholder(a) &&
			(strings.Contains(a, PlaceholderAccount) || strings.Contains(a, PlaceholderFile) || strings.Contains(a, PlaceholderPath)):
			return fmt.Errorf("sftp: %s[%d] %q: %s, %s and %s are replaced only as whole elements; "+
				"pass the value as an argument of its own", name, i, a, PlaceholderAccount, PlaceholderFile, PlaceholderPath)
		}
	}
	return nil
}

func isPlaceholder(a string) bool {
	return a == PlaceholderAccount || a == PlaceholderFile || a == PlaceholderPath
}

// answerWith answers every keyboard-interactive prompt that hides its input
// with password, which is how servers ask for passwords through PAM.
func answerWith(password string) ssh.KeyboardInteractiveChallenge {
	return func(_, _ string, questions []string, echos []bool) ([]string, error) {
		answers := make([]string, len(questions))
		for i := range questions {
			if !echos[i] {
				answers[i] = password
			}
		}
		return answers, nil
	}
}

// normaliseFingerprint checks that s is an OpenSSH SHA256 fingerprint and
// returns it as ssh.FingerprintSHA256 prints one (base64 without padding).
func normaliseFingerprint(s string) (string, error) {
	s = strings.TrimSpace(s)
	const prefix = "SHA256:"
	bad := fmt.Errorf("sftp: host_key %q is not an OpenSSH SHA256 fingerprint like "+
		"\"SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s\"", s)
	if !strings.HasPrefix(s, prefix) {
		return "", bad
	}
	b64 := strings.TrimRight(strings.TrimPrefix(s, prefix), "=")
	sum, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(sum) != 32 {
		return "", bad
	}
	return prefix + base64.RawStdEncoding.EncodeToString(sum), nil
}
