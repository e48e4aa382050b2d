package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/fleet"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/telegram/botapi"
)

// Bot is the operator bot. It answers only messages from the chat ids in
// Chats; any other chat gets a refusal naming its id (so an operator can
// add it) and is logged.
type Bot struct {
	Client *botapi.Client
	// Svc (/invite) and Pools (/pause) make the changes; Read, the
	// store's read pool, answers the rest.
	Svc   *alloc.Service
	Pools *pooladmin.Service
	Read  *store.Queries
	Chats map[int64]bool
	// Operators are the Telegram user ids that may run the commands that
	// change state (/invite, /pause) from a group chat. In a private chat
	// that is itself allowed in Chats the person is the chat (Telegram gives
	// a private chat the user's id), so they may.
	// Anyone else in an allowed group may only read (/status, /pools,
	// /queue): being added to a group must not be enough to pause a pool.
	Operators map[int64]bool
	Log       *slog.Logger
	// Alerter, when set, lists the active alerts in /status.
	Alerter *Alerter
	// PollTimeout is the long-polling wait of getUpdates.
	PollTimeout time.Duration
}

const help = `berth operator bot
/status — pools, seats, queue, integrity, active alerts
/pools — every pool with its use and status
/queue — who waits, oldest first
/invite EMAIL CODE — redeem CODE for EMAIL (as the user would)
/pause POOL REASON — stop placing members in POOL`

// Run polls for updates and answers them until ctx ends. Failures to reach
// the Bot API are logged and retried with a growing pause.
func (b *Bot) Run(ctx context.Context) {
	var offset int64
	pause := time.Second
	for ctx.Err() == nil {
		ups, err := b.Client.GetUpdates(ctx, offset, b.PollTimeout)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait := pause
			var ae *botapi.APIError
			if errors.As(err, &ae) && ae.RetryAfter > 0 {
				wait = ae.RetryAfter
			}
			b.Log.Warn("telegram: getUpdates failed", "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			pause = min(pause*2, time.Minute)
			continue
		}
		pause = time.Second
		for _, u := range ups {
			offset = max(offset, u.UpdateID+1)
			b.handle(ctx, u)
		}
	}
}

func (b *Bot) handle(ctx context.Context, u botapi.Update) {
	m := u.Message
	if m == nil || m.Text == "" {
		return
	}
	from := ""
	if m.From != nil {
		from = fmt.Sprintf("%d (%s)", m.From.ID, m.From.Username)
	}
	if !b.Chats[m.Chat.ID] {
		b.Log.Warn("telegram: refused a message from a chat that is not allowed", "chat", m.Chat.ID, "from", from,
			"command", strings.SplitN(m.Text, " ", 2)[0])
		b.reply(ctx, m.Chat.ID, fmt.Sprintf("This chat (id %d) may not use this bot. An operator can allow it in BERTH_TELEGRAM_CHATS.", m.Chat.ID))
		return
	}
	actor := fmt.Sprintf("telegram:%d", m.Chat.ID)
	mayChange := false
	if m.From != nil {
		actor = fmt.Sprintf("telegram:%d:%d", m.Chat.ID, m.From.ID)
		mayChange = m.Chat.Type == "private" || b.Operators[m.From.ID]
	}
	if !mayChange && changes(m.Text) {
		b.Log.Warn("telegram: refused a changing command from a user who is not an operator", "chat", m.Chat.ID, "from", from,
			"command", strings.SplitN(m.Text, " ", 2)[0])
		id := int64(0)
		if m.From != nil {
			id = m.From.ID
		}
		b.reply(ctx, m.Chat.ID, fmt.Sprintf("Only operators may change things from a group chat. An operator can allow your user id (%d) in %s.", id, EnvOperators))
		return
	}
	b.reply(ctx, m.Chat.ID, b.Answer(ctx, actor, m.Text))
}

// changes reports whether text is a command that changes state.
func changes(text string) bool {
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return false
	}
	cmd, _, _ := strings.Cut(fields[0], "@")
	switch strings.ToLower(cmd) {
	case "/invite", "/pause":
		return true
	}
	return false
}

func (b *Bot) reply(ctx context.Context, chat int64, text string) {
	if err := b.Client.SendMessage(ctx, chat, text); err != nil && ctx.Err() == nil {
		b.Log.Error("telegram: sendMessage failed", "chat", chat, "err", err)
	}
}

// Answer runs one command from an allowed chat and returns the reply. The
// caller has decided that actor may run it (handle checks Operators).
// actor is recorded in history for the commands that change state.
func (b *Bot) Answer(ctx context.Context, actor, text string) string {
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return help
	}
	cmd, _, _ := strings.Cut(fields[0], "@") // /status@berth_bot in groups
	args := fields[1:]
	var (
		out string
		err error
	)
	switch strings.ToLower(cmd) {
	case "/status":
		out, err = b.status(ctx)
	case "/pools":
		out, err = b.pools(ctx)
	case "/queue":
		out, err = b.queue(ctx)
	case "/invite":
		if len(args) != 2 {
			return "usage: /invite EMAIL CODE"
		}
		out, err = b.invite(ctx, actor, args[0], args[1])
	case "/pause":
		if len(args) < 2 {
			return "usage: /pause POOL REASON"
		}
		out, err = b.pause(ctx, actor, args[0], strings.Join(args[1:], " "))
	default:
		return help
	}
	if err != nil {
		b.Log.Error("telegram: command failed", "command", cmd, "actor", actor, "err", err)
		return "internal error; the server log has details"
	}
	return out
}

func (b *Bot) status(ctx context.Context) (string, error) {
	s := fleet.Read(ctx, b.Read, fleet.Options{})
	if err := errors.Join(s.PoolsErr, s.SeatsErr, s.QueueErr, s.IntegrityErr); err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString("berth status\n")
	for _, k := range model.Kinds() {
		a := s.Kind(k)
		if a.Pools == 0 {
			continue
		}
		var st []string
		for _, ps := range model.PoolStatuses() {
			if n := a.ByStatus[ps]; n > 0 {
				st = append(st, fmt.Sprintf("%d %s", n, ps))
			}
		}
		fmt.Fprintf(&sb, "%s pools: %d (%s); %d of %d seats used; %d free in active pools\n", k, a.Pools, strings.Join(st, ", "), a.Used, a.Capacity, a.Free)
	}
	if s.PoolCount == 0 {
		sb.WriteString("no pools yet\n")
	}
	counts := s.SeatsByState()
	fmt.Fprintf(&sb, "seats: %d active, %d provisioning, %d releasing, %d release_failed\n", counts[model.SeatActive],
		counts[model.SeatProvisioning]+counts[model.SeatReserved], counts[model.SeatReleasing], counts[model.SeatReleaseFailed])
	var qs []string
	for _, k := range model.Kinds() {
		qs = append(qs, fmt.Sprintf("%s %d", k, s.Queued(k)))
	}
	fmt.Fprintf(&sb, "queue: %s\n", strings.Join(qs, ", "))
	rep := s.Integrity
	fmt.Fprintf(&sb, "integrity: %d orphans, %d zombie moves, %d overbooked pools, %d drifts\n", len(rep.Orphans), len(rep.ZombieMoves), len(rep.Overbooked), len(rep.Drift))
	if b.Alerter != nil {
		active := b.Alerter.Active()
		if len(active) == 0 {
			sb.WriteString("alerts: none\n")
		}
		for _, a := range active {
			fmt.Fprintf(&sb, "alert %s %s\n", a.Severity, a.Key)
		}
	}
	return strings.TrimRight(sb.String(), "\n"), nil
}

func (b *Bot) pools(ctx context.Context) (string, error) {
	pools, err := b.Read.PoolList(ctx, "")
	if err != nil {
		return "", err
	}
	if len(pools) == 0 {
		return "no pools yet", nil
	}
	sort.Slice(pools, func(i, j int) bool {
		if pools[i].Kind != pools[j].Kind {
			return pools[i].Kind < pools[j].Kind
		}
		return pools[i].Name < pools[j].Name
	})
	lines := make([]string, 0, len(pools))
	for _, p := range pools {
		group := ""
		if g := p.Labels["group"]; g != "" {
			group = " group " + g
		}
		lines = append(lines, fmt.Sprintf("%s (%s%s) %s %d/%d", p.Name, p.Kind, group, p.Status, p.Used, p.Capacity))
	}
	return joinLimited(lines, botapi.MaxMessage), nil
}

func (b *Bot) queue(ctx context.Context) (string, error) {
	q := b.Read
	entries, err := q.QueueList(ctx, "", 0)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return "the queue is empty", nil
	}
	now := q.Now()
	byKind := map[model.Kind]int{}
	for _, e := range entries {
		byKind[e.Kind]++
	}
	var head []string
	for _, k := range model.Kinds() {
		head = append(head, fmt.Sprintf("%s %d", k, byKind[k]))
	}
	lines := []string{"queue: " + strings.Join(head, ", ")}
	for _, e := range entries {
		what := "new"
		if e.IsMove {
			what = "move"
		}
		lines = append(lines, fmt.Sprintf("%s #%d %s (%s, %s): %s", e.Kind, e.Position, e.Member, what,
			now.Sub(e.EnqueuedAt).Round(time.Second), e.Reason))
	}
	return joinLimited(lines, botapi.MaxMessage), nil
}

func (b *Bot) invite(ctx context.Context, actor, email, code string) (string, error) {
	res, err := b.Svc.Redeem(ctx, email, code, actor)
	if err != nil {
		if msg, ok := userError(err); ok {
			return "not invited: " + msg, nil
		}
		return "", err
	}
	switch res.State {
	case model.TeamSeatQueued:
		return fmt.Sprintf("%s is queued at position %d: no team has room now", email, res.Position), nil
	default:
		ends := ""
		if !res.ExpiresAt.IsZero() {
			ends = ", until " + res.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")
		}
		return fmt.Sprintf("%s is seated on %s (%s%s)", email, res.Pool, res.State, ends), nil
	}
}

// userError returns the text of an error the operator can act on.
func userError(err error) (string, bool) {
	var le *alloc.LimitError
	var re *alloc.RateError
	for _, e := range []error{alloc.ErrCodeNotValid, alloc.ErrCodeDisabled, alloc.ErrCodeExpired, alloc.ErrCodeUsedUp,
		alloc.ErrNoSeat, alloc.ErrMoveInProgress, alloc.ErrInvalid} {
		if errors.Is(err, e) {
			return err.Error(), true
		}
	}
	if errors.As(err, &le) || errors.As(err, &re) {
		return err.Error(), true
	}
	return "", false
}

func (b *Bot) pause(ctx context.Context, actor, name, reason string) (string, error) {
	p, err := b.Read.PoolGetByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Sprintf("no pool named %q (see /pools)", name), nil
	}
	if err != nil {
		return "", err
	}
	res, err := b.Pools.SetStatus(ctx, []int64{p.ID}, string(model.StatusPaused), reason, actor)
	if err != nil {
		if msg, ok := userError(err); ok {
			return "not paused: " + msg, nil
		}
		return "", err
	}
	if res.FailedCount > 0 {
		return fmt.Sprintf("not paused: %s", res.Failed[0].Error), nil
	}
	return fmt.Sprintf("%s is paused (was %s): no new members or moves go there; its members stay", p.Name, p.Status), nil
}

// joinLimited joins lines, leaving out the tail that would pass limit characters.
func joinLimited(lines []string, limit int) string {
	var sb strings.Builder
	for i, l := range lines {
		rest := fmt.Sprintf("… and %d more", len(lines)-i)
		if sb.Len()+len(l)+len(rest)+2 > limit && i > 0 {
			sb.WriteString("\n" + rest)
			break
		}
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(l)
	}
	return sb.String()
}
