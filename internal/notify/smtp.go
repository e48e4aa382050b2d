package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// TLS modes of SMTPConfig.
const (
	TLSNone     = "none"     // plain text; credentials are only sent to localhost
	TLSStartTLS = "starttls" // STARTTLS is required (default)
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, port 465)
)

// DefaultSMTPTimeout bounds one Send when SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig says how to reach the mail relay.
type SMTPConfig struct {
	Host     string
	Port     int // 0: 25 for none, 587 for starttls, 465 for tls
	Username string
	Password string
	From     string // "berth@example.com" or "Berth <berth@example.com>"
	TLS      string // "none" | "starttls" | "tls"; "" means starttls
	Timeout  time.Duration
}

const maskedPassword = "xxxxx"

// String renders the config as an smtp:// URL with the password masked.
func (c SMTPConfig) String() string {
	u := url.URL{Scheme: "smtp", Host: c.Host}
	if c.Port != 0 {
		u.Host = net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	}
	switch {
	case c.Username != "" && c.Password != "":
		u.User = url.UserPassword(c.Username, maskedPassword)
	case c.Username != "":
		u.User = url.User(c.Username)
	case c.Password != "":
		u.User = url.UserPassword("", maskedPassword)
	}
	q := url.Values{}
	if c.From != "" {
		q.Set("from", c.From)
	}
	if c.TLS != "" {
		q.Set("tls", c.TLS)
	}
	if c.Timeout != 0 {
		q.Set("timeout", c.Timeout.String())
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// GoString keeps %#v from printing the password.
func (c SMTPConfig) GoString() string { return "notify.SMTPConfig(" + c.String() + ")" }

// LogValue keeps slog (text and JSON handlers) from printing the password.
func (c SMTPConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ParseSMTPURL reads smtp://user:pass@host:port?from=berth@example.com&tls=starttls.
// The scheme smtps:// defaults tls to "tls". Query parameters: from
// (required), tls (none, starttls, tls; default starttls) and timeout (a Go
// duration such as 30s). User name and password are optional and must be
// percent-encoded. Errors never contain the password.
func ParseSMTPURL(s string) (SMTPConfig, error) {
	var cfg SMTPConfig
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		// A *url.Error quotes the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return cfg, fmt.Errorf("smtp url: %v", err)
	}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		cfg.TLS = TLSImplicit
	case "":
		return cfg, errors.New("smtp url: missing scheme (want smtp://user:pass@host:port?from=...)")
	default:
		return cfg, fmt.Errorf("smtp url: unknown scheme %q (want smtp or smtps)", u.Scheme)
	}
	if u.Opaque != "" {
		return cfg, errors.New("smtp url: want smtp://host... (missing //)")
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, fmt.Errorf("smtp url: unexpected path %q", u.Path)
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" {
		return cfg, errors.New("smtp url: missing host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return cfg, fmt.Errorf("smtp url: bad port %q", p)
		}
		cfg.Port = n
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, fmt.Errorf("smtp url: query: %v", err)
	}
	for k, v := range q {
		if len(v) != 1 {
			return cfg, fmt.Errorf("smtp url: parameter %q given %d times", k, len(v))
		}
		switch k {
		case "from":
			cfg.From = v[0]
		case "tls":
			if u.Scheme == "smtps" && v[0] != TLSImplicit {
				return cfg, fmt.Errorf("smtp url: smtps:// with tls=%s (use smtp:// or tls=tls)", v[0])
			}
			cfg.TLS = v[0]
		case "timeout":
			d, err := time.ParseDuration(v[0])
			if err != nil || d <= 0 {
				return cfg, fmt.Errorf("smtp url: bad timeout %q (want a Go duration such as 30s)", v[0])
			}
			cfg.Timeout = d
		default:
			return cfg, fmt.Errorf("smtp url: unknown parameter %q (want from, tls or timeout)", k)
		}
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if err := cfg.validate(); err != nil {
		return cfg, fmt.Errorf("smtp url: %w", err)
	}
	return cfg, nil
}

func (c SMTPConfig) validate() error {
	if c.Host == "" {
		return errors.New("missing host")
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("bad port %d", c.Port)
	}
	switch c.TLS {
	case "", TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return fmt.Errorf("bad tls mode %q (want none, starttls or tls)", c.TLS)
	}
	if c.From == "" {
		return errors.New("missing from address (add ?from=berth@example.com)")
	}
	if _, err := netmail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("bad from address %q: %v", c.From, err)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("negative timeout %s", c.Timeout)
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("password without user name")
	}
	return nil
}

// SMTPMailer sends mail through an SMTP relay with go-mail, one connection
// per Send (warnings are few; a fresh connection never finds a stale one).
type SMTPMailer struct {
	cfg SMTPConfig
	// tlsConfig, when set, replaces the default (system roots, ServerName
	// Host); tests use it to trust their own certificate.
	tlsConfig *tls.Config
}

var _ Mailer = (*SMTPMailer)(nil)

// NewSMTP checks cfg and fills its defaults (TLS starttls, the port of the
// TLS mode, a 30s timeout).
func NewSMTP(cfg SMTPConfig) (*SMTPMailer, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Port == 0 {
		switch cfg.TLS {
		case TLSNone:
			cfg.Port = mail.DefaultPort
		case TLSStartTLS:
			cfg.Port = mail.DefaultPortTLS
		case TLSImplicit:
			cfg.Port = mail.DefaultPortSSL
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	return &SMTPMailer{cfg: cfg}, nil
}

// Config returns the effective configuration (print it: String masks the
// password).
func (m *SMTPMailer) Config() SMTPConfig { return m.cfg }

// Send delivers one plain-text message. It gives up at the earlier of the
// context's deadline and the configured timeout, and closes the connection
// as soon as ctx is cancelled.
func (m *SMTPMailer) Send(ctx context.Context, to, subject, textBody string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg := mail.NewMsg()
	if err := msg.From(m.cfg.From); err != nil {
		return fmt.Errorf("smtp: from address: %w", err)
	}
	if err := msg.To(to); err != nil {
		return fmt.Errorf("smtp: recipient address: %w", err)
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, textBody)

	timeout := m.cfg.Timeout
	dl, hasDeadline := ctx.Deadline()
	if hasDeadline {
		left := time.Until(dl)
		if left <= 0 {
			return context.DeadlineExceeded
		}
		timeout = min(timeout, left)
	}

	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.tlsConfig != nil {
		tlsCfg = m.tlsConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = m.cfg.Host
	}

	// go-mail leaves the connection open when the greeting, STARTTLS or AUTH
	// fails, or QUIT does: close whatever was dialled on the way out.
	var conns []net.Conn
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if m.cfg.TLS == TLSImplicit {
			// A *tls.Conn, so go-mail's SMTP client knows the line is encrypted.
			d := tls.Dialer{NetDialer: &net.Dialer{}, Config: tlsCfg}
			conn, err = d.DialContext(dctx, network, addr)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		conns = append(conns, conn)
		// Cancelling ctx aborts a transfer in progress.
		stops = append(stops, context.AfterFunc(ctx, func() { conn.Close() }))
		return conn, nil
	}

	opts := []mail.Option{
		mail.WithPort(m.cfg.Port),
		mail.WithTimeout(timeout),
		mail.WithTLSConfig(tlsCfg),
		mail.WithDialContextFunc(dial),
	}
	switch m.cfg.TLS {
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, mail.WithSSL(), mail.WithTLSPolicy(mail.NoTLS))
	}
	if m.cfg.Username != "" {
		// PLAIN and LOGIN refuse to run over an unencrypted line except to
		// localhost, so tls=none never sends a password across the network.
		opts = append(opts,
			mail.WithUsername(m.cfg.Username), mail.WithPassword(m.cfg.Password),
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1,
				mail.SMTPAuthPlain, mail.SMTPAuthLogin, mail.SMTPAuthCramMD5))
	}
	client, err := mail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	fail := func(step string, err error) error {
		cerr := ctx.Err()
		if cerr == nil && hasDeadline && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded // the line timed out as ctx ended
		}
		if cerr != nil {
			return fmt.Errorf("smtp %s: %s: %w (%v)", client.ServerAddr(), step, cerr, err)
		}
		return fmt.Errorf("smtp %s: %s: %w", client.ServerAddr(), step, err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fail("connect", err)
	}
	if err := client.SendWithSMTPClient(conn, msg); err != nil {
		_ = client.CloseWithSMTPClient(conn)
		return fail("send", err)
	}
	// The relay has accepted the message: a failing QUIT must not make the
	// caller send it again.
	_ = client.CloseWithSMTPClient(conn)
	return nil
}
