// Package notify tells users by e-mail that their seat is about to end.
//
// A Warner looks for bound codes ending soon and sends each one warning per
// threshold (7, 3 and 1 days before the end by default). Which warnings went
// out is remembered in the database (store.NoticeOnce), so runs may repeat,
// overlap or happen on several replicas without sending a warning twice.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// Mailer sends one plain-text e-mail.
type Mailer interface {
	Send(ctx context.Context, to, subject, textBody string) error
}

// DefaultThresholds are the days before a code's end at which users are warned.
var DefaultThresholds = []int{7, 3, 1}

// EndLayout formats Notice.End.
const EndLayout = "2006-01-02 15:04 UTC"

// DefaultSubject and DefaultBody are the templates used when Warner.Subject
// or Warner.Body is nil. Both get a Notice.
const (
	DefaultSubject = `Your seat ends within {{.DaysLeft}} {{if eq .DaysLeft 1}}day{{else}}days{{end}} / 您的席位将在 {{.DaysLeft}} 天内到期`

	DefaultBody = `Hello,

Your seat for {{.Email}} ends at {{.End}}, within {{.DaysLeft}} {{if eq .DaysLeft 1}}day{{else}}days{{end}}.
{{- if .Hint}} It rests on the redeem code ending in {{.Hint}}.{{end}}

To keep your seat, redeem another code before then: the seat stays yours
and nothing else needs to be done. Without a new code the seat ends at the
time above.
{{- if .StatusURL}}

Your seat's status: {{.StatusURL}}{{end}}

This is an automatic message.

---

您好，

您（{{.Email}}）的席位将于 {{.End}} 到期，剩余不超过 {{.DaysLeft}} 天。
{{- if .Hint}}该席位使用的兑换码末尾为 {{.Hint}}。{{end}}

如需保留席位，请在到期前兑换一个新的兑换码，席位将继续保留，无需其他操作。
如未兑换新的兑换码，席位将在上述时间结束。
{{- if .StatusURL}}

查看席位状态：{{.StatusURL}}{{end}}

这是一封自动发送的邮件。
`
)

// Notice is what the subject and body templates are executed with.
type Notice struct {
	Email     string    // the bound address the mail goes to
	CodeID    int64     // the code that ends
	Hint      string    // the code's last characters
	Group     string    // the code's group
	EndsAt    time.Time // the end, in UTC
	End       string    // EndsAt as "2006-01-02 15:04 UTC"
	DaysLeft  int       // whole days to the end, rounded up (6.5 days: 7)
	Threshold int       // the threshold this warning is for, in days
	// StatusURL is the absolute address of the status page (BaseURL +
	// "/status"); empty when Warner.BaseURL is not set.
	StatusURL string
}

// Warner sends expiry warnings. Store and Mailer are required; the other
// fields have defaults. A Warner is safe for concurrent use as long as its
// fields are not changed meanwhile.
type Warner struct {
	Store  *store.Store
	Mailer Mailer
	// Thresholds in days before the end; nil means DefaultThresholds.
	Thresholds []int
	Log        *slog.Logger
	// Subject and Body are text templates executed with a Notice; nil means
	// DefaultSubject and DefaultBody (English and Chinese in one mail).
	Subject *template.Template
	Body    *template.Template
	// BaseURL is berth's public address (BERTH_BASE_URL), e.g.
	// https://berth.example.com or https://example.com/berth; when set,
	// the mail links the status page. Empty: no link.
	BaseURL string
}

var (
	defaultSubject = template.Must(template.New("subject").Parse(DefaultSubject))
	defaultBody    = template.Must(template.New("body").Parse(DefaultBody))
)

const day = 24 * time.Hour

// Run sends the warnings due at now and reports how many it sent.
//
// Per bound code ending in (now, now+largest threshold], the smallest
// threshold t with ends_at <= now+t days applies: its warning is claimed with
// NoticeOnce (a claimed warning is never sent again) and mailed; the larger
// thresholds are recorded without mail so they are never sent late (a code
// first seen 2 days before its end gets the 3-day warning only). When the mail
// fails, the claim is forgotten and a later run retries; a crash between
// claim and mail loses that one warning rather than sending it twice.
//
// A code is skipped when its e-mail holds another bound code that ends later
// (or never): the seat does not end with this code, so there is nothing to
// warn about. Equal ends are broken by id so only one of them warns.
//
// Errors of single codes do not stop the run; they are joined and returned
// along with the count of mails sent.
func (w *Warner) Run(ctx context.Context, now time.Time) (sent int, err error) {
	if w.Store == nil || w.Mailer == nil {
		return 0, errors.New("notify: Warner needs a Store and a Mailer")
	}
	thresholds, err := normalizeThresholds(w.Thresholds)
	if err != nil {
		return 0, err
	}
	log := w.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now = now.UTC()
	largest := thresholds[len(thresholds)-1]
	codes, err := w.Store.CodesEnding(ctx, now, now.Add(time.Duration(largest)*day))
	if err != nil {
		return 0, fmt.Errorf("notify: list codes ending: %w", err)
	}
	var errs []error
	for _, c := range codes {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		ok, err := w.warn(ctx, log, c, now, thresholds)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// warn handles one code; it reports whether a mail went out.
func (w *Warner) warn(ctx context.Context, log *slog.Logger, c model.Code, now time.Time, thresholds []int) (bool, error) {
	email := strings.TrimSpace(c.BoundEmail)
	if email == "" || c.EndsAt.IsZero() {
		return false, nil
	}
	idx := slices.IndexFunc(thresholds, func(t int) bool { return !c.EndsAt.After(now.Add(time.Duration(t) * day)) })
	if idx < 0 {
		return false, nil
	}
	t := thresholds[idx]

	// Another code keeps the seat past this one's end.
	other, err := w.Store.CodeValidForEmail(ctx, c.BoundEmail, c.ID, now)
	switch {
	case err == nil:
		if other.EndsAt.IsZero() || other.EndsAt.After(c.EndsAt) || (other.EndsAt.Equal(c.EndsAt) && other.ID > c.ID) {
			log.Debug("expiry warning skipped: another code keeps the seat", "code_id", c.ID, "other_code_id", other.ID)
			return false, nil
		}
	case errors.Is(err, store.ErrNotFound):
	default:
		return false, fmt.Errorf("notify: code %d: other codes of its e-mail: %w", c.ID, err)
	}

	n := Notice{
		Email:     email,
		CodeID:    c.ID,
		Hint:      c.Hint,
		Group:     c.Group,
		EndsAt:    c.EndsAt.UTC(),
		End:       c.EndsAt.UTC().Format(EndLayout),
		DaysLeft:  int(math.Ceil(float64(c.EndsAt.Sub(now)) / float64(day))),
		Threshold: t,
	}
	n.StatusURL = statusURL(w.BaseURL)
	subject, body, err := w.render(n)
	if err != nil {
		return false, fmt.Errorf("notify: code %d: %w", c.ID, err)
	}

	claimed, err := w.Store.NoticeOnce(ctx, c.ID, t)
	if err != nil {
		return false, fmt.Errorf("notify: code %d: record %d-day warning: %w", c.ID, t, err)
	}
	if !claimed {
		return false, nil // sent before (or being sent by another run)
	}
	// The larger thresholds are past: never send them late.
	for _, later := range thresholds[idx+1:] {
		if _, err := w.Store.NoticeOnce(ctx, c.ID, later); err != nil {
			w.forget(ctx, log, c.ID, t)
			return false, fmt.Errorf("notify: code %d: record %d-day warning: %w", c.ID, later, err)
		}
	}

	if err := w.Mailer.Send(ctx, email, subject, body); err != nil {
		w.forget(ctx, log, c.ID, t)
		log.Warn("expiry warning not sent; will retry", "code_id", c.ID, "email", email, "threshold_days", t, "err", err)
		return false, fmt.Errorf("notify: code %d: send %d-day warning: %w", c.ID, t, err)
	}
	log.Info("expiry warning sent", "code_id", c.ID, "email", email, "threshold_days", t, "ends_at", n.End)

	err = w.Store.HistoryAdd(ctx, model.HistoryEntry{
		Member: email,
		Action: model.ActExpiryWarning,
		Reason: reason(t),
		Actor:  "system",
		CodeID: c.ID,
	})
	if err != nil {
		// The mail is out and the claim stays: only the history row is missing.
		log.Error("expiry warning sent but not recorded in history", "code_id", c.ID, "err", err)
		return true, fmt.Errorf("notify: code %d: %w", c.ID, err)
	}
	return true, nil
}

// forget drops a claim after a failed send. It runs even when ctx has ended
// (a timed-out send must stay retryable), with a bound of its own.
func (w *Warner) forget(ctx context.Context, log *slog.Logger, codeID int64, t int) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.Store.NoticeForget(fctx, codeID, t); err != nil {
		log.Error("expiry warning failed and its claim could not be dropped: it will not be retried",
			"code_id", codeID, "threshold_days", t, "err", err)
	}
}

func (w *Warner) render(n Notice) (subject, body string, err error) {
	st, bt := w.Subject, w.Body
	if st == nil {
		st = defaultSubject
	}
	if bt == nil {
		bt = defaultBody
	}
	subject, body, err = execute(st, bt, n)
	if err != nil {
		return "", "", err
	}
	if subject == "" {
		return "", "", errors.New("subject template gave an empty subject")
	}
	return subject, body, nil
}

// execute renders one mail's subject and body templates with data. A
// subject is one header line: its runs of white space become one space.
func execute(st, bt *template.Template, data any) (subject, body string, err error) {
	var sb, bb strings.Builder
	if err := st.Execute(&sb, data); err != nil {
		return "", "", fmt.Errorf("subject template: %w", err)
	}
	if err := bt.Execute(&bb, data); err != nil {
		return "", "", fmt.Errorf("body template: %w", err)
	}
	return strings.Join(strings.Fields(sb.String()), " "), bb.String(), nil
}

// statusURL is the status page's absolute address under baseURL
// (BERTH_BASE_URL), or "" without one.
func statusURL(baseURL string) string {
	if baseURL == "" {
		return ""
	}
	return strings.TrimSuffix(baseURL, "/") + "/status"
}

func reason(t int) string {
	if t == 1 {
		return "1 day before end"
	}
	return fmt.Sprintf("%d days before end", t)
}

// normalizeThresholds sorts ascending and drops duplicates.
func normalizeThresholds(in []int) ([]int, error) {
	if in == nil {
		in = DefaultThresholds
	}
	if len(in) == 0 {
		return nil, errors.New("notify: no thresholds")
	}
	out := slices.Clone(in)
	slices.Sort(out)
	out = slices.Compact(out)
	if out[0] <= 0 {
		return nil, fmt.Errorf("notify: threshold %d: want whole days > 0", out[0])
	}
	return out, nil
}
