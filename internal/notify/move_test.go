package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// moveFixture is the expiry fixture's store and SMTP server with a
// MoveMailer and two teams.
type moveFixture struct {
	*fixture
	mm     *MoveMailer
	t1, t2 model.Pool
}

func newMoveFixture(t *testing.T, d store.Dialect) *moveFixture {
	t.Helper()
	f := newFixture(t, d)
	mf := &moveFixture{fixture: f,
		mm: &MoveMailer{Store: f.s, Mailer: f.w.Mailer, Log: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
	mf.t1 = storetest.Pool(t, f.s, store.PoolCreateParams{Name: "team-a", Kind: model.KindTeam, Capacity: 5})
	mf.t2 = storetest.Pool(t, f.s, store.PoolCreateParams{Name: "team-b", Kind: model.KindTeam, Capacity: 5})
	return mf
}

// move records a move of email (a team member with a code that has used
// of limit moves; limit < 0: no code) from team-a to team-b, started for
// why, and ends it in state. kind server makes a server account instead.
func (f *moveFixture) move(t *testing.T, kind model.Kind, email, why string, paid bool, used, limit int, state model.MoveState) int64 {
	t.Helper()
	ctx := context.Background()
	m, _, err := f.s.MemberCreate(ctx, store.MemberCreateParams{Kind: kind, ExternalID: email, FileName: "f"})
	if err != nil {
		t.Fatal(err)
	}
	var codeID int64
	if limit >= 0 {
		f.n++
		norm := fmt.Sprintf("MOVECODE%04d", f.n)
		id, err := f.s.CodeCreate(ctx, store.CodeCreateParams{Display: norm, Normalized: norm, Hint: norm[len(norm)-4:],
			Group: "team", MaxUses: 1, ValidFor: 30 * 24 * time.Hour, RebindLimit: limit, Batch: "test"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.s.CodeGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		c.BoundEmail, c.Status, c.UsedCount, c.RebindCount = email, model.CodeBound, 1, used
		if err := f.s.CodeUpdate(ctx, c); err != nil {
			t.Fatal(err)
		}
		codeID = c.ID
	}
	from, err := f.s.SeatCreate(ctx, m.ID, f.t1.ID, model.SeatActive, 0, codeID)
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.s.MoveCreate(ctx, model.Move{MemberID: m.ID, FromSeat: from, CodeID: codeID, Paid: paid, Reason: why, Actor: "someone"})
	if err != nil {
		t.Fatal(err)
	}
	to, err := f.s.SeatCreate(ctx, m.ID, f.t2.ID, model.SeatActive, from, codeID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.MoveSetTarget(ctx, id, to); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.s.MoveFinish(ctx, id, state, "moved to team-b"); err != nil || !ok {
		t.Fatalf("MoveFinish = %v, %v", ok, err)
	}
	return id
}

func (f *moveFixture) send(t *testing.T, id int64) (bool, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.mm.Send(ctx, id)
}

func wantMoveSent(t *testing.T, what string, sent bool, err error, want bool) {
	t.Helper()
	if err != nil || sent != want {
		t.Fatalf("%s: Send = %v, %v; want %v", what, sent, err, want)
	}
}

func bodyHas(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: body lacks %q:\n%s", what, w, body)
		}
	}
}

func TestMoveMailPaidEnglishOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newMoveFixture(t, d)
		f.mm.Lang, f.mm.BaseURL = LangEnglish, "https://example.com/berth/"
		id := f.move(t, model.KindTeam, "paid@example.com", "paid: rebind 1 of 3", true, 1, 3, model.MoveDone)

		sent, err := f.send(t, id)
		wantMoveSent(t, "first", sent, err, true)
		// The job run again (a retry, a rescue): nothing more.
		sent, err = f.send(t, id)
		wantMoveSent(t, "second", sent, err, false)

		mails := f.mailsTo(t, "paid@example.com")
		if len(mails) != 1 {
			t.Fatalf("got %d mails, want 1", len(mails))
		}
		m := mails[0]
		if m.Subject != "Your seat has moved to team-b" {
			t.Errorf("subject %q", m.Subject)
		}
		bodyHas(t, "paid", m.Body, "moved to the team team-b (from team-a)", "Why: you asked to move.",
			"Moves used: 1 of 3, 2 left.", "https://example.com/berth/status")
		if strings.Contains(m.Body, "您好") || strings.Contains(m.Body, "free") {
			t.Errorf("an English paid mail says more:\n%s", m.Body)
		}
		n, err := f.s.MoveNoticeGet(context.Background(), id)
		if err != nil || n.NotifiedAt.IsZero() || n.Why != "paid: rebind 1 of 3" || n.Move.Reason != "moved to team-b" {
			t.Fatalf("notice %+v, %v; want notified, the starting reason kept", n, err)
		}
		h, err := f.s.HistoryList(context.Background(), store.HistoryFilter{Action: model.ActMoveNotified})
		if err != nil || len(h) != 1 || h[0].Member != "paid@example.com" || h[0].To != "team-b" {
			t.Fatalf("history %+v, %v; want one move.notified row", h, err)
		}
	})
}

func TestMoveMailCausesAndLanguages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newMoveFixture(t, d)
		f.mm.Lang = LangChinese
		op := f.move(t, model.KindTeam, "op@example.com", "moved by admin", false, 0, 2, model.MoveDone)
		drain := f.move(t, model.KindTeam, "drain@example.com", "drain of team-a", false, 2, 2, model.MoveDone)
		for _, id := range []int64{op, drain} {
			sent, err := f.send(t, id)
			wantMoveSent(t, "zh", sent, err, true)
		}
		m := f.mailsTo(t, "op@example.com")
		if len(m) != 1 || m[0].Subject != "您的席位已转移到 team-b" {
			t.Fatalf("operator move mails %+v", m)
		}
		bodyHas(t, "operator zh", m[0].Body, "原因：管理员转移了您的席位。", "已使用更换次数：0 / 2，剩余 2 次。", "本次更换免费")
		if strings.Contains(m[0].Body, "Hello") {
			t.Errorf("a Chinese mail has English:\n%s", m[0].Body)
		}
		m = f.mailsTo(t, "drain@example.com")
		if len(m) != 1 {
			t.Fatalf("drain mails %+v", m)
		}
		bodyHas(t, "drain zh", m[0].Body, "正在清空", "剩余 0 次")

		// No language set: both in one mail; a free move off an offline team.
		f.mm.Lang = ""
		free := f.move(t, model.KindTeam, "free@example.com", "free: team-a is offline", false, 1, 3, model.MoveDone)
		sent, err := f.send(t, free)
		wantMoveSent(t, "both", sent, err, true)
		m = f.mailsTo(t, "free@example.com")
		if len(m) != 1 || m[0].Subject != "Your seat has moved to team-b / 您的席位已转移到 team-b" {
			t.Fatalf("bilingual mails %+v", m)
		}
		bodyHas(t, "both", m[0].Body, "not working (offline); the move was free.", "Moves used: 1 of 3, 2 left. This move was free and did not count.",
			"（offline）", "剩余 2 次")
		if strings.Contains(m[0].Body, "/status") {
			t.Errorf("a link without a BaseURL:\n%s", m[0].Body)
		}

		// Migration, rebalance, a plan: each its own words.
		for why, want := range map[string]string{
			"migration by ops":                       "moving everyone off your old team",
			"rebalance (plan 4 by ops): load 9 to 5": "teams were rebalanced",
			"plan 7 (move) by ops":                   "an operator's planned change",
		} {
			_, body, err := RenderMove(LangEnglish, MoveNote{To: "x", CauseEN: CauseText(LangEnglish, why)})
			if err != nil || !strings.Contains(body, want) {
				t.Errorf("%q: %v\n%s", why, err, body)
			}
		}
	})
}

// A move that failed or was cancelled, and a server account's, get no mail.
func TestMoveMailNotForFailedOrServers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newMoveFixture(t, d)
		failed := f.move(t, model.KindTeam, "failed@example.com", "paid: rebind 1 of 3", true, 1, 3, model.MoveFailed)
		cancelled := f.move(t, model.KindTeam, "cancelled@example.com", "moved by admin", false, 0, 3, model.MoveCancelled)
		server := f.move(t, model.KindServer, "worker-1", "drain of team-a", false, 0, -1, model.MoveDone)
		for _, id := range []int64{failed, cancelled, server, 99999} {
			sent, err := f.send(t, id)
			wantMoveSent(t, "skipped", sent, err, false)
		}
		if n := len(f.be.messages()); n != 0 {
			t.Fatalf("%d mails, want none", n)
		}
	})
}

// The relay down: Send fails (the job is retried) and records nothing;
// back up, the retry sends the mail once.
func TestMoveMailRetriedWhenRelayDown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := newMoveFixture(t, d)
		id := f.move(t, model.KindTeam, "down@example.com", "drain of team-a", false, 0, 3, model.MoveDone)
		good := f.mm.Mailer
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		f.mm.Mailer = newMailer(t, SMTPConfig{Host: "127.0.0.1", Port: port, From: testFrom, TLS: TLSNone, Timeout: 5 * time.Second})
		for range 2 {
			if sent, err := f.send(t, id); err == nil || sent {
				t.Fatalf("relay down: Send = %v, %v; want an error", sent, err)
			}
		}
		if n, _ := f.s.MoveNoticeGet(context.Background(), id); !n.NotifiedAt.IsZero() {
			t.Fatal("a failed send was recorded as sent")
		}
		f.be.rejectRcpt.Store(true) // up, but refusing: still an error
		f.mm.Mailer = good
		if sent, err := f.send(t, id); err == nil || sent || !strings.Contains(err.Error(), "550") {
			t.Fatalf("refused: Send = %v, %v; want a 550 error", sent, err)
		}
		f.be.rejectRcpt.Store(false)
		sent, err := f.send(t, id)
		wantMoveSent(t, "relay back", sent, err, true)
		sent, err = f.send(t, id)
		wantMoveSent(t, "again", sent, err, false)
		if n := len(f.mailsTo(t, "down@example.com")); n != 1 {
			t.Fatalf("got %d mails, want 1", n)
		}
	})
}

func TestParseLang(t *testing.T) {
	for in, want := range map[string]string{"": "", "en": "en", "EN": "en", "zh-CN": "zh-CN", "zh": "zh-CN", " zh-cn ": "zh-CN"} {
		if got, err := ParseLang(in); err != nil || got != want {
			t.Errorf("ParseLang(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseLang("fr"); err == nil {
		t.Error("fr accepted")
	}
}
