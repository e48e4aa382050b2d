package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/silentserver"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// ---- a local SMTP server (go-smtp) ----

type received struct {
	From string
	To   []string
	Data []byte
}

type backend struct {
	user, pass string // when set, MAIL requires AUTH PLAIN with these
	rejectRcpt atomic.Bool

	mu   sync.Mutex
	msgs []received
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b      *backend
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.rejectRcpt.Load() {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, received{From: s.from, To: s.to, Data: data})
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

var (
	certOnce sync.Once
	certTLS  tls.Certificate
	certPool *x509.CertPool
)

// testCert is a self-signed certificate for 127.0.0.1 and localhost.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "berth test"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
			DNSNames:              []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		certTLS = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		certPool = x509.NewCertPool()
		certPool.AddCert(leaf)
	})
	return certTLS, certPool
}

// startServer serves be on ip:0 in the given TLS mode and returns its port.
func startServer(t *testing.T, be *backend, ip, mode string) int {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := testCert(t)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	switch mode {
	case TLSStartTLS:
		srv.TLSConfig = tlsCfg
	case TLSImplicit:
		ln = tls.NewListener(ln, tlsCfg)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// newMailer returns an SMTPMailer for ip:port that trusts the test certificate.
func newMailer(t *testing.T, cfg SMTPConfig) *SMTPMailer {
	t.Helper()
	m, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, pool := testCert(t)
	m.tlsConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return m
}

type parsed struct {
	Header  netmail.Header
	Subject string
	Body    string
}

func parseMessage(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return parsed{Header: m.Header, Subject: subject, Body: string(body)}
}

// ---- store fixtures ----

const (
	testFrom = "berth@example.com"
	testUser = "berth"
	testPass = "s3cret pass"
)

var base = time.Date(2031, 3, 10, 9, 30, 0, 0, time.UTC)

type fixture struct {
	s     *store.Store
	be    *backend
	w     *Warner
	n     int
	mu    sync.Mutex
	clock time.Time
	logs  *bytes.Buffer
}

func newFixture(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	f := &fixture{s: storetest.Open(t, d), clock: base, logs: &bytes.Buffer{}}
	f.s.SetClock(func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.clock
	})
	f.be = &backend{user: testUser, pass: testPass}
	port := startServer(t, f.be, "127.0.0.1", TLSNone)
	m := newMailer(t, SMTPConfig{Host: "127.0.0.1", Port: port, Username: testUser, Password: testPass,
		From: "Berth <" + testFrom + ">", TLS: TLSNone, Timeout: 10 * time.Second})
	f.w = &Warner{Store: f.s, Mailer: m, Log: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return f
}

func (f *fixture) setClock(now time.Time) {
	f.mu.Lock()
	f.clock = now
	f.mu.Unlock()
}

// run runs the Warner at now (and moves the store clock there).
func (f *fixture) run(t *testing.T, now time.Time) (int, error) {
	t.Helper()
	f.setClock(now)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.w.Run(ctx, now)
}

// code creates a code bound to email that ends at ends.
func (f *fixture) code(t *testing.T, email string, ends time.Time) model.Code {
	t.Helper()
	ctx := context.Background()
	f.n++
	norm := fmt.Sprintf("TESTCODE%04d", f.n)
	id, err := f.s.CodeCreate(ctx, store.CodeCreateParams{Display: norm, Normalized: norm, Hint: norm[len(norm)-4:],
		Group: "team", MaxUses: 1, ValidFor: 30 * 24 * time.Hour, RebindLimit: 1, Batch: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.s.CodeGet(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	c.BoundEmail, c.Status, c.UsedCount = email, model.CodeBound, 1
	c.ActivatedAt, c.EndsAt = base.Add(-20*24*time.Hour), ends
	if err := f.s.CodeUpdate(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) history(t *testing.T, codeID int64) []model.HistoryEntry {
	t.Helper()
	h, err := f.s.HistoryList(context.Background(), store.HistoryFilter{Action: model.ActExpiryWarning, CodeID: codeID})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// recorded reports whether the warning is recorded (it records it if not).
func (f *fixture) recorded(t *testing.T, codeID int64, threshold int) bool {
	t.Helper()
	fresh, err := f.s.NoticeOnce(context.Background(), codeID, threshold)
	if err != nil {
		t.Fatal(err)
	}
	return !fresh
}

// mailsTo returns the parsed messages received for addr.
func (f *fixture) mailsTo(t *testing.T, addr string) []parsed {
	t.Helper()
	var out []parsed
	for _, m := range f.be.messages() {
		if len(m.To) == 1 && m.To[0] == addr {
			out = append(out, parseMessage(t, m.Data))
		}
	}
	return out
}

func days(d float64) time.Duration { return time.Duration(d * float64(24*time.Hour)) }

func wantSent(t *testing.T, what string, sent int, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: Run: %v", what, err)
	}
	if sent != want {
		t.Fatalf("%s: sent %d, want %d", what, sent, want)
	}
}

// ---- Warner ----

func TestWarnerThresholds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		week := f.code(t, "week@example.com", base.Add(days(6.5)))
		three := f.code(t, "three@example.com", base.Add(days(2.5)))
		one := f.code(t, "one@example.com", base.Add(days(0.5)))
		far := f.code(t, "far@example.com", base.Add(days(10)))
		gone := f.code(t, "gone@example.com", base.Add(-time.Hour))

		sent, err := f.run(t, base)
		wantSent(t, "first run", sent, err, 3)
		sent, err = f.run(t, base)
		wantSent(t, "second run", sent, err, 0)

		for _, c := range []struct {
			code      model.Code
			threshold int
			days      string
			reason    string
		}{
			{week, 7, "7 days", "7 days before end"},
			{three, 3, "3 days", "3 days before end"},
			{one, 1, "1 day", "1 day before end"},
		} {
			mails := f.mailsTo(t, c.code.BoundEmail)
			if len(mails) != 1 {
				t.Fatalf("%s: got %d mails, want 1", c.code.BoundEmail, len(mails))
			}
			m := mails[0]
			if got := m.Header.Get("To"); !strings.Contains(got, c.code.BoundEmail) {
				t.Errorf("To = %q, want %s", got, c.code.BoundEmail)
			}
			from, err := netmail.ParseAddress(m.Header.Get("From"))
			if err != nil || from.Address != testFrom || from.Name != "Berth" {
				t.Errorf("From = %q (%v), want Berth <%s>", m.Header.Get("From"), err, testFrom)
			}
			if !strings.Contains(m.Subject, "within "+c.days) || !strings.Contains(m.Subject, "天内到期") {
				t.Errorf("Subject = %q, want it to say within %s in English and Chinese", m.Subject, c.days)
			}
			end := c.code.EndsAt.UTC().Format("2006-01-02 15:04 UTC")
			if strings.Count(m.Body, end) != 2 {
				t.Errorf("body does not give the end %s in both languages:\n%s", end, m.Body)
			}
			for _, want := range []string{"redeem another code", "兑换一个新的兑换码", c.code.Hint, c.code.BoundEmail} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("body lacks %q:\n%s", want, m.Body)
				}
			}
			if m.Header.Get("Date") == "" || m.Header.Get("Message-Id") == "" {
				t.Errorf("missing Date or Message-ID: %v", m.Header)
			}
			h := f.history(t, c.code.ID)
			if len(h) != 1 || h[0].Member != c.code.BoundEmail || h[0].Reason != c.reason || h[0].Actor != "system" || h[0].CodeID != c.code.ID {
				t.Errorf("history of code %d = %+v, want one %q row", c.code.ID, h, c.reason)
			}
		}
		for _, c := range []model.Code{far, gone} {
			if n := len(f.mailsTo(t, c.BoundEmail)); n != 0 {
				t.Errorf("%s got %d mails, want none", c.BoundEmail, n)
			}
		}
		for _, m := range f.be.messages() {
			if m.From != testFrom {
				t.Errorf("envelope sender %q, want %s", m.From, testFrom)
			}
		}

		// Four days on, the week code is 2.5 days from its end: the 3-day
		// mail; the far code is 6 days from its end: its 7-day mail.
		sent, err = f.run(t, base.Add(days(4)))
		wantSent(t, "day 4", sent, err, 2)
		// Six days on, 0.5 days: the 1-day mail (the far code, 4 days from
		// its end, had its 7-day mail).
		sent, err = f.run(t, base.Add(days(6)))
		wantSent(t, "day 6", sent, err, 1)
		sent, err = f.run(t, base.Add(days(6)+time.Hour))
		wantSent(t, "day 6 again", sent, err, 0)

		mails := f.mailsTo(t, week.BoundEmail)
		if len(mails) != 3 {
			t.Fatalf("week code got %d mails, want 3", len(mails))
		}
		for i, want := range []string{"within 7 days", "within 3 days", "within 1 day"} {
			if !strings.Contains(mails[i].Subject, want) {
				t.Errorf("mail %d subject %q, want %q", i, mails[i].Subject, want)
			}
		}
		if h := f.history(t, week.ID); len(h) != 3 {
			t.Errorf("week code has %d history rows, want 3", len(h))
		}
		if n := len(f.mailsTo(t, far.BoundEmail)); n != 1 {
			t.Errorf("far code got %d mails, want 1", n)
		}
		if logs := f.logs.String(); strings.Contains(logs, "redeem another code") || strings.Contains(logs, testPass) {
			t.Errorf("log holds the body or the password:\n%s", logs)
		}
	})
}

// With a BaseURL the mail links the status page by its absolute address,
// in both languages; without one it writes no link.
func TestWarnerStatusLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		plain := f.code(t, "plain@example.com", base.Add(days(2.5)))
		sent, err := f.run(t, base)
		wantSent(t, "without BaseURL", sent, err, 1)
		if m := f.mailsTo(t, plain.BoundEmail); len(m) != 1 || strings.Contains(m[0].Body, "/status") {
			t.Fatalf("without BaseURL the mail links something: %+v", m)
		}

		f.w.BaseURL = "https://example.com/berth/"
		linked := f.code(t, "linked@example.com", base.Add(days(2.5)))
		sent, err = f.run(t, base)
		wantSent(t, "with BaseURL", sent, err, 1)
		m := f.mailsTo(t, linked.BoundEmail)
		if len(m) != 1 {
			t.Fatalf("got %d mails, want 1", len(m))
		}
		const want = "https://example.com/berth/status"
		if n := strings.Count(m[0].Body, want); n != 2 {
			t.Errorf("body gives %s %d times, want 2 (English and Chinese):\n%s", want, n, m[0].Body)
		}
	})
}

func TestWarnerNoLateWarning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		c := f.code(t, "late@example.com", base.Add(days(2)))
		sent, err := f.run(t, base)
		wantSent(t, "run", sent, err, 1)
		mails := f.mailsTo(t, c.BoundEmail)
		if len(mails) != 1 || !strings.Contains(mails[0].Subject, "within 2 days") {
			t.Fatalf("mails = %+v, want one saying within 2 days", mails)
		}
		if h := f.history(t, c.ID); len(h) != 1 || h[0].Reason != "3 days before end" {
			t.Fatalf("history = %+v, want one 3-day row", h)
		}
		// The 7-day warning is recorded as done (never sent late); 1-day is not.
		if !f.recorded(t, c.ID, 7) || !f.recorded(t, c.ID, 3) {
			t.Error("7- and 3-day warnings should be recorded")
		}
		if f.recorded(t, c.ID, 1) {
			t.Error("the 1-day warning should not be recorded yet")
		}
	})
}

func TestWarnerLaterCodeKeepsSeat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		old := f.code(t, "renewed@example.com", base.Add(days(2)))
		f.code(t, "renewed@example.com", base.Add(days(40)))
		same1 := f.code(t, "twins@example.com", base.Add(days(1.5)))
		same2 := f.code(t, "twins@example.com", base.Add(days(1.5)))

		sent, err := f.run(t, base)
		wantSent(t, "run", sent, err, 1)
		if n := len(f.mailsTo(t, old.BoundEmail)); n != 0 {
			t.Errorf("renewed user got %d mails, want none", n)
		}
		if n := len(f.mailsTo(t, same1.BoundEmail)); n != 1 {
			t.Errorf("user with two codes ending together got %d mails, want 1", n)
		}
		if len(f.history(t, same1.ID)) != 0 || len(f.history(t, same2.ID)) != 1 {
			t.Error("the code with the larger id should carry the warning")
		}
	})
}

func TestWarnerRefusedIsRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		c := f.code(t, "refused@example.com", base.Add(days(6.5)))

		f.be.rejectRcpt.Store(true)
		sent, err := f.run(t, base)
		if err == nil || !strings.Contains(err.Error(), "550") {
			t.Fatalf("Run = %d, %v; want a 550 error", sent, err)
		}
		if sent != 0 || len(f.be.messages()) != 0 || len(f.history(t, c.ID)) != 0 {
			t.Fatalf("nothing should have been sent or recorded: sent %d, %d messages", sent, len(f.be.messages()))
		}

		f.be.rejectRcpt.Store(false)
		sent, err = f.run(t, base.Add(time.Hour))
		wantSent(t, "after the refusal", sent, err, 1)
		if mails := f.mailsTo(t, c.BoundEmail); len(mails) != 1 || !strings.Contains(mails[0].Subject, "within 7 days") {
			t.Fatalf("mails = %+v, want one 7-day mail", mails)
		}
		sent, err = f.run(t, base.Add(2*time.Hour))
		wantSent(t, "once more", sent, err, 0)
	})
}

func TestWarnerServerDownIsRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		c := f.code(t, "down@example.com", base.Add(days(0.5)))
		good := f.w.Mailer

		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		f.w.Mailer = newMailer(t, SMTPConfig{Host: "127.0.0.1", Port: port, From: testFrom, TLS: TLSNone, Timeout: 5 * time.Second})
		sent, err := f.run(t, base)
		if err == nil || sent != 0 {
			t.Fatalf("Run with the server down = %d, %v; want an error", sent, err)
		}
		if f.recorded(t, c.ID, 1) {
			t.Fatal("the failed warning's claim was not forgotten")
		}
		// recorded() claimed it; drop that claim again to let the Warner send.
		if err := f.s.NoticeForget(context.Background(), c.ID, 1); err != nil {
			t.Fatal(err)
		}

		f.w.Mailer = good
		sent, err = f.run(t, base.Add(time.Minute))
		wantSent(t, "server back", sent, err, 1)
		if n := len(f.mailsTo(t, c.BoundEmail)); n != 1 {
			t.Fatalf("got %d mails, want 1", n)
		}
	})
}

// stubMailer fails for some addresses and records the others.
type stubMailer struct {
	mu   sync.Mutex
	fail map[string]bool
	sent []string
	subj []string
	body []string
}

func (m *stubMailer) Send(_ context.Context, to, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail[to] {
		return errors.New("stub: refused")
	}
	m.sent, m.subj, m.body = append(m.sent, to), append(m.subj, subject), append(m.body, body)
	return nil
}

func TestWarnerOneFailureDoesNotStopOthers(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.code(t, "bad@example.com", base.Add(days(1)))
	f.code(t, "good@example.com", base.Add(days(2)))
	stub := &stubMailer{fail: map[string]bool{"bad@example.com": true}}
	f.w.Mailer = stub
	sent, err := f.run(t, base)
	if sent != 1 || err == nil || !strings.Contains(err.Error(), "stub: refused") {
		t.Fatalf("Run = %d, %v; want 1 and the stub error", sent, err)
	}
	if len(stub.sent) != 1 || stub.sent[0] != "good@example.com" {
		t.Fatalf("sent to %v", stub.sent)
	}
}

func TestWarnerTemplatesAndThresholds(t *testing.T) {
	f := newFixture(t, store.SQLite)
	c := f.code(t, "tmpl@example.com", base.Add(days(13)))
	stub := &stubMailer{}
	f.w.Mailer = stub
	f.w.Thresholds = []int{14, 1, 14}
	f.w.Subject = template.Must(template.New("s").Parse("Ends\n  {{.End}}"))
	f.w.Body = template.Must(template.New("b").Parse("{{.Email}} {{.DaysLeft}} {{.Threshold}} {{.CodeID}} {{.Group}}"))
	sent, err := f.run(t, base)
	wantSent(t, "run", sent, err, 1)
	if want := "Ends " + c.EndsAt.Format(EndLayout); stub.subj[0] != want {
		t.Errorf("subject %q, want %q", stub.subj[0], want)
	}
	if want := fmt.Sprintf("tmpl@example.com 13 14 %d team", c.ID); stub.body[0] != want {
		t.Errorf("body %q, want %q", stub.body[0], want)
	}
	if h := f.history(t, c.ID); len(h) != 1 || h[0].Reason != "14 days before end" {
		t.Errorf("history %+v", h)
	}

	for _, bad := range [][]int{{}, {0, 3}, {-1}} {
		f.w.Thresholds = bad
		if _, err := f.w.Run(context.Background(), base); err == nil {
			t.Errorf("thresholds %v: no error", bad)
		}
	}
	f.w.Thresholds = nil
	f.w.Subject = template.Must(template.New("s").Parse("{{.Nope}}"))
	f.code(t, "tmpl2@example.com", base.Add(days(1)))
	if _, err := f.run(t, base); err == nil {
		t.Error("a failing template gave no error")
	}
}

// ---- SMTP ----

func TestParseSMTPURL(t *testing.T) {
	cfg, err := ParseSMTPURL("smtp://user%40example.com:p%40ss%3Aword@mail.example.com:2525?from=berth@example.com&tls=starttls&timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	want := SMTPConfig{Host: "mail.example.com", Port: 2525, Username: "user@example.com", Password: "p@ss:word",
		From: "berth@example.com", TLS: TLSStartTLS, Timeout: 5 * time.Second}
	if cfg != want {
		t.Fatalf("got %#v\nwant %#v", cfg, want)
	}

	cfg, err = ParseSMTPURL("smtps://relay.example.com?from=" + "Berth%20%3Cberth@example.com%3E")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS != TLSImplicit || cfg.Port != 0 || cfg.From != "Berth <berth@example.com>" || cfg.Username != "" {
		t.Fatalf("smtps: %#v", cfg)
	}
	cfg, err = ParseSMTPURL("smtp://[::1]:25?from=a@b.example&tls=none")
	if err != nil || cfg.Host != "::1" || cfg.Port != 25 || cfg.TLS != TLSNone {
		t.Fatalf("ipv6: %#v, %v", cfg, err)
	}
	if cfg, _ := ParseSMTPURL("smtp://h.example?from=a@b.example"); cfg.TLS != TLSStartTLS {
		t.Fatalf("default tls = %q, want starttls", cfg.TLS)
	}

	for in, want := range map[string]string{
		"smtp://?from=a@b.example":                       "missing host",
		"smtp://user:secretpw@:25?from=a@b.example":      "missing host",
		"smtp://h.example":                               "missing from",
		"smtp://h.example?from=nope":                     "bad from address",
		"smtp://h.example?from=a@b.example&tls=ssl":      `bad tls mode "ssl"`,
		"smtps://h.example?from=a@b.example&tls=none":    "smtps:// with tls=none",
		"smtp://h.example:99999?from=a@b.example":        "bad port",
		"smtp://h.example?from=a@b.example&timeout=x":    "bad timeout",
		"smtp://h.example?from=a@b.example&form=x":       `unknown parameter "form"`,
		"http://h.example?from=a@b.example":              "unknown scheme",
		"h.example:25":                                   "unknown scheme",
		"smtp://u:secretpw@h.example/x?from=a@b.example": "unexpected path",
		"smtp://u:secret pw@h example?from=a@b.example":  "smtp url:",
		"smtp://:secretpw@h.example?from=a@b.example":    "password without user name",
	} {
		_, err := ParseSMTPURL(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSMTPURL(%q) = %v, want an error containing %q", in, err, want)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseSMTPURL(%q) error shows the password: %v", in, err)
		}
	}
}

func TestSMTPConfigMasksPassword(t *testing.T) {
	cfg := SMTPConfig{Host: "mail.example.com", Port: 587, Username: "u", Password: "hunter2-secret",
		From: "berth@example.com", TLS: TLSStartTLS, Timeout: time.Second}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "smtp", cfg)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "smtp", cfg)
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), logs.String()} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("password shown: %s", s)
		}
	}
	if got, want := cfg.String(), "smtp://u:xxxxx@mail.example.com:587?from=berth%40example.com&timeout=1s&tls=starttls"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	back, err := ParseSMTPURL(cfg.String())
	if err != nil || back.Host != cfg.Host || back.Port != cfg.Port || back.From != cfg.From || back.Password != "xxxxx" {
		t.Errorf("String() does not parse back: %#v, %v", back, err)
	}
}

func TestNewSMTPDefaults(t *testing.T) {
	for mode, port := range map[string]int{"": 587, TLSNone: 25, TLSStartTLS: 587, TLSImplicit: 465} {
		m, err := NewSMTP(SMTPConfig{Host: "h.example", From: "a@b.example", TLS: mode})
		if err != nil {
			t.Fatal(err)
		}
		if c := m.Config(); c.Port != port || c.Timeout != DefaultSMTPTimeout || c.TLS == "" {
			t.Errorf("mode %q: %+v", mode, c)
		}
	}
	if _, err := NewSMTP(SMTPConfig{From: "a@b.example"}); err == nil || !strings.Contains(err.Error(), "missing host") {
		t.Errorf("no host: %v", err)
	}
	if _, err := NewSMTP(SMTPConfig{Host: "h.example", From: "a@b.example", TLS: "SSL"}); err == nil {
		t.Error("bad tls mode accepted")
	}
}

func TestSMTPModesAndAuth(t *testing.T) {
	for _, mode := range []string{TLSNone, TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			be := &backend{user: testUser, pass: testPass}
			port := startServer(t, be, "127.0.0.1", mode)
			cfg := SMTPConfig{Host: "127.0.0.1", Port: port, Username: testUser, Password: testPass, From: testFrom, TLS: mode, Timeout: 10 * time.Second}
			ctx := context.Background()
			if err := newMailer(t, cfg).Send(ctx, "to@example.com", "Grüße / 你好", "line one\nzweite Zeile: ä\n第三行\n"); err != nil {
				t.Fatal(err)
			}
			msgs := be.messages()
			if len(msgs) != 1 || msgs[0].From != testFrom || len(msgs[0].To) != 1 || msgs[0].To[0] != "to@example.com" {
				t.Fatalf("received %+v", msgs)
			}
			p := parseMessage(t, msgs[0].Data)
			if p.Subject != "Grüße / 你好" || !strings.Contains(strings.ReplaceAll(p.Body, "\r\n", "\n"), "zweite Zeile: ä\n第三行") {
				t.Errorf("subject %q body %q", p.Subject, p.Body)
			}

			bad := cfg
			bad.Password = "wrong"
			err := newMailer(t, bad).Send(ctx, "to@example.com", "s", "b")
			if err == nil || !strings.Contains(err.Error(), "535") {
				t.Errorf("wrong password: %v, want a 535 error", err)
			}
			none := cfg
			none.Username, none.Password = "", ""
			if err := newMailer(t, none).Send(ctx, "to@example.com", "s", "b"); err == nil {
				t.Error("no credentials: the server wants AUTH but Send succeeded")
			}
			if len(be.messages()) != 1 {
				t.Errorf("%d messages, want 1", len(be.messages()))
			}
		})
	}
}

func TestSMTPStartTLSRequired(t *testing.T) {
	be := &backend{}
	port := startServer(t, be, "127.0.0.1", TLSNone) // offers no STARTTLS
	m := newMailer(t, SMTPConfig{Host: "127.0.0.1", Port: port, From: testFrom, TLS: TLSStartTLS, Timeout: 5 * time.Second})
	if err := m.Send(context.Background(), "to@example.com", "s", "b"); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("starttls against a plain server: %v", err)
	}
	// Without our test root the certificate is not trusted.
	port = startServer(t, be, "127.0.0.1", TLSStartTLS)
	m, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, From: testFrom, TLS: TLSStartTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), "to@example.com", "s", "b"); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	if len(be.messages()) != 0 {
		t.Fatal("a message went through")
	}
}

func TestSMTPNoCleartextPasswordToRemoteHost(t *testing.T) {
	// 127.0.0.2 is loopback on Linux, but not "localhost" to the SMTP client.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip("127.0.0.2 is not available:", err)
	}
	ln.Close()
	be := &backend{user: testUser, pass: testPass}
	port := startServer(t, be, "127.0.0.2", TLSNone)
	m := newMailer(t, SMTPConfig{Host: "127.0.0.2", Port: port, Username: testUser, Password: testPass, From: testFrom, TLS: TLSNone})
	if err := m.Send(context.Background(), "to@example.com", "s", "b"); err == nil {
		t.Fatal("the password went over an unencrypted line to a non-local host")
	}
}

func TestSMTPTimeouts(t *testing.T) {
	port := silentserver.Start(t)
	cfg := SMTPConfig{Host: "127.0.0.1", Port: port, From: testFrom, TLS: TLSNone, Timeout: time.Minute}

	// The context's deadline wins over the configured timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := newMailer(t, cfg).Send(ctx, "to@example.com", "s", "b")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v, want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("deadline: Send took %s", el)
	}

	// Cancelling (no deadline) aborts at once.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	err = newMailer(t, cfg).Send(ctx, "to@example.com", "s", "b")
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v, want Canceled", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("cancel: Send took %s", el)
	}

	// The configured timeout applies without a context deadline.
	cfg.Timeout = 300 * time.Millisecond
	start = time.Now()
	if err := newMailer(t, cfg).Send(context.Background(), "to@example.com", "s", "b"); err == nil {
		t.Error("timeout: no error")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("timeout: Send took %s", el)
	}

	// An ended context sends nothing.
	if err := newMailer(t, cfg).Send(ctx, "to@example.com", "s", "b"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: %v", err)
	}
}

func TestWarnerTimeoutForgetsClaim(t *testing.T) {
	f := newFixture(t, store.SQLite)
	c := f.code(t, "slow@example.com", base.Add(days(2.5)))
	port := silentserver.Start(t)
	f.w.Mailer = newMailer(t, SMTPConfig{Host: "127.0.0.1", Port: port, From: testFrom, TLS: TLSNone, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	sent, err := f.w.Run(ctx, base)
	if sent != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %d, %v; want DeadlineExceeded", sent, err)
	}
	// The claim was dropped although ctx had ended.
	if f.recorded(t, c.ID, 3) {
		t.Fatal("claim kept after a timed-out send")
	}
}
