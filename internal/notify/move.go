package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"text/template"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// Languages of the move mail (MoveMailer.Lang): the console's tags.
const (
	LangEnglish = "en"
	LangChinese = "zh-CN"
)

// ParseLang checks a language setting (BERTH_DEFAULT_LANG): "en", "zh-CN"
// (also "zh"), or "" for both in one mail.
func ParseLang(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "en":
		return LangEnglish, nil
	case "zh-cn", "zh":
		return LangChinese, nil
	}
	return "", fmt.Errorf("unknown language %q (want en or zh-CN; empty: both in one mail)", s)
}

// freeStatus is the unhealthy status in a free move's reason ("free: t1 is
// offline"), or "".
func freeStatus(why string) string {
	if i := strings.LastIndex(why, " is "); i >= 0 && strings.HasPrefix(why, "free:") {
		return why[i+len(" is "):]
	}
	return ""
}

// CauseText says why a move happened, in lang ("en" or "zh-CN").
func CauseText(lang, why string) string {
	zh := lang == LangChinese
	pick := func(en, cn string) string {
		if zh {
			return cn
		}
		return en
	}
	switch model.MoveCauseOf(why) {
	case model.CausePaid:
		return pick("you asked to move.", "您申请了更换团队。")
	case model.CauseFree:
		st := freeStatus(why)
		if st == "" {
			return pick("you asked to move off a team that was not working; the move was free.",
				"您申请离开一个无法正常使用的团队，本次更换免费。")
		}
		return pick(fmt.Sprintf("you asked to move off a team that was not working (%s); the move was free.", st),
			fmt.Sprintf("您申请离开一个无法正常使用的团队（%s），本次更换免费。", st))
	case model.CauseOperator:
		return pick("an operator moved your seat.", "管理员转移了您的席位。")
	case model.CauseDrain:
		return pick("your old team is being emptied (maintenance or a problem with the team).",
			"您原来的团队正在清空（维护或该团队出现问题）。")
	case model.CauseMigration:
		return pick("an operator is moving everyone off your old team.", "管理员正在将所有成员迁出您原来的团队。")
	case model.CauseRebalance:
		return pick("the teams were rebalanced to even out their load.", "为平衡各团队的负载，席位进行了重新分配。")
	case model.CausePlan:
		return pick("an operator's planned change.", "管理员计划的调整。")
	}
	return pick("the move was started by the service.", "由系统发起的更换。")
}

// MoveNote is what the move mail's templates are executed with.
type MoveNote struct {
	Email  string // the member's address the mail goes to
	MoveID int64
	// To and From name the new and the old team.
	To, From string
	Cause    model.MoveCause
	// Why is the move's starting reason as recorded (English, for
	// operators); CauseEN and CauseZH say it for the user.
	Why, CauseEN, CauseZH string
	// Paid: the move counted against the code's moves.
	Paid bool
	// HasCode: the seat rests on a redeem code; Used, Limit and Left are its
	// moves (a free move uses none).
	HasCode           bool
	Used, Limit, Left int
	Finished          string // when the move finished, as EndLayout
	StatusURL         string // BaseURL + "/status"; empty without a BaseURL
}

// The move mail's templates, per language; MoveMailer.Lang "" joins both.
const (
	MoveSubjectEN = `Your seat has moved to {{.To}}`
	MoveSubjectZH = `您的席位已转移到 {{.To}}`

	MoveBodyEN = `Hello,

Your seat for {{.Email}} has moved to the team {{.To}}{{if .From}} (from {{.From}}){{end}}.
The new seat is active; nothing needs to be done.

Why: {{.CauseEN}}
{{- if .HasCode}}
Moves used: {{.Used}} of {{.Limit}}, {{.Left}} left.{{if not .Paid}} This move was free and did not count.{{end}}
{{- end}}
{{- if .StatusURL}}

Your seat's status: {{.StatusURL}}{{end}}

This is an automatic message.
`

	MoveBodyZH = `您好，

您（{{.Email}}）的席位已转移到团队 {{.To}}{{if .From}}（原团队：{{.From}}）{{end}}。
新席位已生效，无需其他操作。

原因：{{.CauseZH}}
{{- if .HasCode}}
已使用更换次数：{{.Used}} / {{.Limit}}，剩余 {{.Left}} 次。{{if not .Paid}}本次更换免费，不计入次数。{{end}}
{{- end}}
{{- if .StatusURL}}

查看席位状态：{{.StatusURL}}{{end}}

这是一封自动发送的邮件。
`
)

var (
	moveSubjectEN = template.Must(template.New("subject-en").Parse(MoveSubjectEN))
	moveSubjectZH = template.Must(template.New("subject-zh").Parse(MoveSubjectZH))
	moveBodyEN    = template.Must(template.New("body-en").Parse(MoveBodyEN))
	moveBodyZH    = template.Must(template.New("body-zh").Parse(MoveBodyZH))
)

// MoveMailer tells a team member by e-mail that their seat moved: the new
// team, why, and the moves used and left. Store and Mailer are required.
//
// It is run by the move_notice job (package jobs), which package alloc
// enqueues in the transaction that marks the move done; so a move that
// failed or was cancelled never gets one. Send checks moves.notified_at
// before mailing and sets it after: a job run twice sends one mail. A
// failed send returns its error and the job is retried (River's backoff).
// A crash between the relay's acceptance and the record makes the retried
// job send the mail a second time: at least once, never lost.
type MoveMailer struct {
	Store  *store.Store
	Mailer Mailer
	// Lang is the language of the mail: "en", "zh-CN", or "" for both in
	// one mail, English first (BERTH_DEFAULT_LANG). berth keeps no
	// language per user, so this operator default is used for everyone.
	Lang string
	// BaseURL is berth's public address (BERTH_BASE_URL); when set the mail
	// links the status page.
	BaseURL string
	Log     *slog.Logger
}

// Send mails the user about move id if it is done, theirs to be told of (a
// team member's) and not mailed before; it reports whether a mail went out.
func (m *MoveMailer) Send(ctx context.Context, moveID int64) (bool, error) {
	if m.Store == nil || m.Mailer == nil {
		return false, errors.New("notify: MoveMailer needs a Store and a Mailer")
	}
	log := m.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n, err := m.Store.MoveNoticeGet(ctx, moveID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("notify: move %d: %w", moveID, err)
	}
	email := strings.TrimSpace(n.Move.Member)
	switch {
	case n.Move.State != model.MoveDone:
		log.Debug("move mail skipped: the move did not finish", "move_id", moveID, "state", n.Move.State)
		return false, nil
	case n.Kind != model.KindTeam || email == "":
		return false, nil // servers have no address
	case !n.NotifiedAt.IsZero():
		return false, nil // sent before
	}
	note := NewMoveNote(n, m.BaseURL)
	subject, body, err := RenderMove(m.Lang, note)
	if err != nil {
		return false, fmt.Errorf("notify: move %d: %w", moveID, err)
	}
	if err := m.Mailer.Send(ctx, email, subject, body); err != nil {
		log.Warn("move mail not sent; will retry", "move_id", moveID, "email", email, "err", err)
		return false, fmt.Errorf("notify: move %d: send: %w", moveID, err)
	}
	// The mail is out: record it even when ctx has ended meanwhile.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := m.Store.MoveNotified(rctx, moveID); err != nil {
		log.Error("move mail sent but not recorded; a retry may send it again", "move_id", moveID, "err", err)
		return true, fmt.Errorf("notify: move %d: record the mail: %w", moveID, err)
	}
	log.Info("move mail sent", "move_id", moveID, "email", email, "to", n.To, "cause", note.Cause)
	if err := m.Store.HistoryAdd(rctx, model.HistoryEntry{Member: email, Pool: n.To, Action: model.ActMoveNotified, From: n.From, To: n.To,
		Actor: "system", CodeID: n.Move.CodeID, Reason: "user told by e-mail: " + n.Why}); err != nil {
		log.Error("move mail sent but not recorded in history", "move_id", moveID, "err", err)
	}
	return true, nil
}

// NewMoveNote gathers what the user is told about a finished move.
func NewMoveNote(n store.MoveNotice, baseURL string) MoveNote {
	note := MoveNote{Email: strings.TrimSpace(n.Move.Member), MoveID: n.Move.ID, To: n.To, From: n.From, Why: n.Why,
		Cause: model.MoveCauseOf(n.Why), CauseEN: CauseText(LangEnglish, n.Why), CauseZH: CauseText(LangChinese, n.Why),
		Paid: n.Move.Paid, HasCode: n.Move.CodeID != 0, Used: n.RebindCount, Limit: n.RebindLimit,
		Left: max(n.RebindLimit-n.RebindCount, 0), StatusURL: statusURL(baseURL)}
	if !n.Move.FinishedAt.IsZero() {
		note.Finished = n.Move.FinishedAt.UTC().Format(EndLayout)
	}
	return note
}

// RenderMove renders the move mail in lang ("en", "zh-CN", or "" for both).
func RenderMove(lang string, note MoveNote) (subject, body string, err error) {
	type pair struct{ s, b *template.Template }
	var parts []pair
	switch lang {
	case LangEnglish:
		parts = []pair{{moveSubjectEN, moveBodyEN}}
	case LangChinese:
		parts = []pair{{moveSubjectZH, moveBodyZH}}
	case "":
		parts = []pair{{moveSubjectEN, moveBodyEN}, {moveSubjectZH, moveBodyZH}}
	default:
		return "", "", fmt.Errorf("unknown language %q", lang)
	}
	var subjects, bodies []string
	for _, p := range parts {
		s, b, err := execute(p.s, p.b, note)
		if err != nil {
			return "", "", err
		}
		subjects = append(subjects, s)
		bodies = append(bodies, b)
	}
	return strings.Join(subjects, " / "), strings.Join(bodies, "\n---\n\n"), nil
}
