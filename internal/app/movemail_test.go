package app_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/sim"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Issue 15 §1: a finished move is told to the user by e-mail, once.

// mailbox is a local SMTP server (go-smtp, as in package notify's tests)
// keeping what it receives, as subject and decoded body.
type mailbox struct {
	mu    sync.Mutex
	mails []mailMsg
}

type mailMsg struct{ To, Subject, Body string }

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{b: b}, nil }

func (b *mailbox) to(addr string) []mailMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []mailMsg
	for _, m := range b.mails {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

type mailSession struct {
	b  *mailbox
	to string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }
func (s *mailSession) Reset()                                    {}
func (s *mailSession) Logout() error                             { return nil }

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return err
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.mails = append(s.b.mails, mailMsg{To: s.to, Subject: subject, Body: strings.ReplaceAll(string(text), "\r\n", "\n")})
	s.b.mu.Unlock()
	return nil
}

// serveMail serves b on 127.0.0.1:port (0: any) and returns the port.
func serveMail(t *testing.T, b *mailbox, port int) int {
	t.Helper()
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		ln.Close() // Close misses a listener Serve has not taken yet
		<-done
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func withMail(port int, lang string) func(*app.Config) {
	return func(c *app.Config) {
		c.SMTPURL = fmt.Sprintf("smtp://127.0.0.1:%d?from=berth@example.com&tls=none&timeout=5s", port)
		c.DefaultLang = lang
	}
}

func waitMails(t *testing.T, b *mailbox, addr string, n int) []mailMsg {
	t.Helper()
	var got []mailMsg
	apptest.Eventually(t, 15*time.Second, fmt.Sprintf("%d mails to %s", n, addr), func() bool {
		got = b.to(addr)
		return len(got) >= n
	})
	return got
}

// statusPageIn is the public status page of email and code in lang.
func statusPageIn(t *testing.T, h *apptest.Harness, email, code, lang string) string {
	t.Helper()
	form := url.Values{"email": {email}, "code": {code}}
	req, err := http.NewRequest("POST", h.App.URL+"/status", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", lang)
	req.Header.Set("Origin", h.App.URL)
	r := apptest.Send(t, req)
	if r.Status != 200 {
		t.Fatalf("status page: %d %s", r.Status, r.Body)
	}
	return html.UnescapeString(string(r.Body))
}

func mailHas(t *testing.T, what string, m mailMsg, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(m.Subject+"\n"+m.Body, w) {
			t.Errorf("%s: mail lacks %q:\n%s\n%s", what, w, m.Subject, m.Body)
		}
	}
}

// A paid move asked by the user, an operator's move and a drain each end
// in one mail (English, the operator's default) naming the new team, why
// and the moves used and left; a failed move sends none.
func TestMoveMailEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		box := &mailbox{}
		h := apptest.Start(t, d, withMail(serveMail(t, box, 0), "en"))
		ids, code := seatUser(t, h, 3, nil)
		const user = "user@example.com"

		// 1. The user's paid move.
		if s, r := rebind(t, h, user, code); r.Status != 200 || s.Free || s.RebindCount != 1 {
			t.Fatalf("paid move: %d %s", r.Status, r.Body)
		}
		st := waitActive(t, h, user, code, "")
		mails := waitMails(t, box, user, 1)
		mailHas(t, "paid move", mails[0], "Your seat has moved to "+st.Pool, "from team-1", "Why: you asked to move.", "Moves used: 1 of 3, 2 left.")
		if strings.Contains(mails[0].Body, "您好") {
			t.Errorf("BERTH_DEFAULT_LANG=en, the mail has Chinese:\n%s", mails[0].Body)
		}
		// The status page shows the same facts, in the reader's language.
		var raw struct {
			LastMove *struct {
				From, To, Cause string
				Paid            bool
			} `json:"last_move"`
		}
		h.DoAuth("GET", "/api/v1/public/status?email="+user+"&code="+code, nil, "").MustStatus(t, 200).JSON(t, &raw)
		if lm := raw.LastMove; lm == nil || lm.From != "team-1" || lm.To != st.Pool || lm.Cause != "paid" || !lm.Paid {
			t.Fatalf("public status last_move %+v, want paid from team-1 to %s", lm, st.Pool)
		}
		for lang, wants := range map[string][]string{
			"en":    {"Last move", "to " + st.Pool + " from team-1", "you asked to move; used one of your moves.", "1 of 3 used, 2 left"},
			"zh-CN": {"上次换车", "从 team-1 换到 " + st.Pool, "你申请了换车；占用一次换车次数。", "已用 1 / 3 次，剩余 2 次"},
		} {
			page := statusPageIn(t, h, user, code, lang)
			for _, w := range wants {
				if !strings.Contains(page, w) {
					t.Errorf("status page (%s) lacks %q", lang, w)
				}
			}
		}

		// 2. An operator's move.
		var seats struct{ Items []struct{ ID int64 } }
		h.Do("GET", "/api/v1/seats?email="+user+"&state=active", nil).MustStatus(t, 200).JSON(t, &seats)
		from := st.Pool
		h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/move", seats.Items[0].ID), map[string]any{}).MustStatus(t, 202)
		apptest.Eventually(t, 10*time.Second, "the operator's move", func() bool {
			st = publicStatus(t, h, user, code)
			return st.State == "active" && st.Pool != from && !strings.Contains(st.Message, "moving")
		})
		mails = waitMails(t, box, user, 2)
		mailHas(t, "operator move", mails[1], "moved to "+st.Pool, "Why: an operator moved your seat.", "Moves used: 1 of 3, 2 left. This move was free")

		// 3. A drain of the user's team.
		from = st.Pool
		h.Do("POST", fmt.Sprintf("/api/v1/pools/%d/drain", ids[from]), nil).MustStatus(t, 202)
		apptest.Eventually(t, 10*time.Second, "the drain's move", func() bool {
			st = publicStatus(t, h, user, code)
			return st.State == "active" && st.Pool != from && !strings.Contains(st.Message, "moving")
		})
		mails = waitMails(t, box, user, 3)
		mailHas(t, "drain", mails[2], "moved to "+st.Pool, "your old team is being emptied")

		// 4. A paid move whose delivery fails for good: no mail.
		// Every team but the user's refuses: whichever is picked fails.
		for name := range ids {
			if name != st.Pool {
				h.Sims.New(name, sim.Config{}).SetFailNext(1, provider.MemberPermanent)
			}
		}
		if _, r := rebind(t, h, user, code); r.Status != 200 {
			t.Fatalf("second paid move: %d %s", r.Status, r.Body)
		}
		apptest.Eventually(t, 10*time.Second, "the failed move's refund", func() bool {
			return len(history(t, h, "member="+user+"&action=rebind.refunded")) == 1
		})
		time.Sleep(300 * time.Millisecond) // a mail job, if any, would have run
		if n := len(box.to(user)); n != 3 {
			t.Fatalf("%d mails after the failed move, want still 3", n)
		}
		if n := len(history(t, h, "member="+user+"&action=move.notified")); n != 3 {
			t.Fatalf("%d move.notified history rows, want 3", n)
		}
	})
}

// The relay is down when the move finishes: the job fails and is retried
// until the relay is back, then the mail goes out once (Chinese, the
// operator's default).
func TestMoveMailRelayDownThenUp(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close() // nobody listens: connections are refused
		h := apptest.Start(t, d, withMail(port, "zh-CN"))
		_, code := seatUser(t, h, 2, nil)
		const user = "user@example.com"
		if _, r := rebind(t, h, user, code); r.Status != 200 {
			t.Fatalf("paid move: %d %s", r.Status, r.Body)
		}
		st := waitActive(t, h, user, code, "team-2")
		apptest.Eventually(t, 10*time.Second, "failed move_notice attempts", func() bool {
			var attempts int
			h.App.Store.DB.QueryRow(`SELECT COALESCE(MAX(attempt), 0) FROM river_job WHERE kind = 'move_notice'`).Scan(&attempts)
			return attempts >= 2
		})
		box := &mailbox{}
		serveMail(t, box, port)
		mails := waitMails(t, box, user, 1)
		mailHas(t, "after the outage", mails[0], "您的席位已转移到 "+st.Pool, "原因：您申请了更换团队。", "已使用更换次数：1 / 3，剩余 2 次。")
		// The job run again (as after a crash before River recorded it
		// done): the move is marked told, no second mail.
		var moveID int64
		if err := h.App.Store.DB.QueryRow(`SELECT id FROM moves WHERE state = 'done'`).Scan(&moveID); err != nil {
			t.Fatal(err)
		}
		// The relay has the mail before the job records it: wait for the
		// record, which is what a re-run after a crash would find.
		apptest.Eventually(t, 10*time.Second, "the mail recorded on the move", func() bool {
			var told bool
			h.App.Store.DB.QueryRow(`SELECT notified_at > 0 FROM moves WHERE id = ` + fmt.Sprint(moveID)).Scan(&told)
			return told
		})
		if err := h.App.Store.InTx(context.Background(), func(tx *store.Tx) error {
			return h.App.Queue.MoveDone(context.Background(), tx, moveID)
		}); err != nil {
			t.Fatal(err)
		}
		apptest.Eventually(t, 10*time.Second, "the second move_notice job done", func() bool {
			var n int
			h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'move_notice' AND state = 'completed'`).Scan(&n)
			return n == 2
		})
		if got := box.to(user); len(got) != 1 {
			t.Fatalf("%d mails, want 1: %+v", len(got), got)
		}
	})
}

// A migration off the user's team mails once, saying why; a free move
// (no count) says it did not use a move.
func TestMoveMailMigration(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		box := &mailbox{}
		h := apptest.Start(t, d, withMail(serveMail(t, box, 0), "en"))
		_, code := seatUser(t, h, 2, nil)
		const user = "user@example.com"
		h.Do("POST", "/api/v1/migrations", map[string]any{"from": []string{"team-1"}}).MustStatus(t, 202)
		waitActive(t, h, user, code, "team-2")
		mails := waitMails(t, box, user, 1)
		mailHas(t, "migration", mails[0], "Your seat has moved to team-2", "Why: an operator is moving everyone off your old team.",
			"Moves used: 0 of 3, 3 left. This move was free and did not count.")
		time.Sleep(300 * time.Millisecond)
		if got := box.to(user); len(got) != 1 {
			t.Fatalf("%d mails, want 1: %+v", len(got), got)
		}
	})
}
