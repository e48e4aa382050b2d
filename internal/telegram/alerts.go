package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/fleet"
	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/telegram/botapi"
)

// Severity of an alert: P0 act now, P1 look today.
type Severity string

const (
	P0 Severity = "P0"
	P1 Severity = "P1"
)

// History actions of alerts.
const (
	ActAlertFired    = "alert.fired"
	ActAlertResolved = "alert.resolved"
)

// Alert is one condition that holds now. Key identifies it: an alert whose
// key is already active is not sent again, whatever its text says now.
type Alert struct {
	Key      string
	Severity Severity
	Text     string
	// Pool names the pool concerned, if any (history).
	Pool string
}

// Alerter sends alerts to chats, once per key, and a resolved message when
// a key's condition no longer holds. With History, every alert sent and
// resolved is also a history row (actor "monitor"), read back through Read.
//
// Its state is in memory, read back from history when the monitor starts
// (Restore); on PostgreSQL only the replica holding the leader lock runs
// the monitor (leader.go).
type Alerter struct {
	Client  *botapi.Client
	Chats   []int64
	History HistoryWriter
	// Read is the store's read pool, from which Restore reads the history.
	Read *store.Queries
	Log  *slog.Logger
	// BaseURL is berth's public address (BERTH_BASE_URL, no trailing
	// slash); when set, a fired alert ends with the absolute link of the
	// console page that shows it (consolePage).
	BaseURL string

	mu     sync.Mutex
	active map[string]activeAlert
}

type activeAlert struct {
	Alert
	since time.Time
}

// Active returns the alerts sent and not yet resolved, P0 first, then by key.
func (a *Alerter) Active() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Alert, 0, len(a.active))
	for _, al := range a.active {
		out = append(out, al.Alert)
	}
	sortAlerts(out)
	return out
}

func sortAlerts(as []Alert) {
	sort.Slice(as, func(i, j int) bool {
		if as[i].Severity != as[j].Severity {
			return as[i].Severity < as[j].Severity
		}
		return as[i].Key < as[j].Key
	})
}

// Update makes the chats' view match current, the alerts that hold now:
// new keys are sent, keys no longer present are resolved. A message that
// could not be sent is tried again at the next Update.
func (a *Alerter) Update(ctx context.Context, current []Alert) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active == nil {
		a.active = map[string]activeAlert{}
	}
	sortAlerts(current)
	var errs []error
	now := time.Now()
	seen := map[string]bool{}
	for _, al := range current {
		seen[al.Key] = true
		if _, ok := a.active[al.Key]; ok {
			continue
		}
		text := fmt.Sprintf("🔴 %s %s\n%s", al.Severity, al.Key, al.Text)
		if a.BaseURL != "" {
			text += "\n" + a.BaseURL + consolePage(al)
		}
		if err := a.send(ctx, text); err != nil {
			errs = append(errs, err)
			continue
		}
		a.active[al.Key] = activeAlert{Alert: al, since: now}
		a.record(ctx, ActAlertFired, al, al.Text)
	}
	keys := make([]string, 0, len(a.active))
	for k := range a.active {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		al := a.active[k]
		text := fmt.Sprintf("✅ resolved %s %s (after %s)\nwas: %s", al.Severity, k, now.Sub(al.since).Round(time.Second), al.Text)
		if err := a.send(ctx, text); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(a.active, k)
		a.record(ctx, ActAlertResolved, al.Alert, "resolved: "+al.Text)
	}
	return errors.Join(errs...)
}

// consolePage is the console page where an operator sees what al is about:
// the integrity page for orphans, overbooking and stuck moves, the seats for
// seats that could not be released, the servers (pools) for the rest.
func consolePage(al Alert) string {
	switch al.Key {
	case "orphans", "overbooked", "zombie_moves":
		return "/admin/integrity"
	case "release_failed":
		return "/admin/seats"
	}
	return "/admin/servers"
}

// send delivers text to every chat; it fails if any chat could not get it.
func (a *Alerter) send(ctx context.Context, text string) error {
	var errs []error
	for _, chat := range a.Chats {
		if err := a.Client.SendMessage(ctx, chat, text); err != nil {
			errs = append(errs, fmt.Errorf("chat %d: %w", chat, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Alerter) record(ctx context.Context, action string, al Alert, reason string) {
	if a.History == nil {
		return
	}
	if err := a.History.HistoryAdd(ctx, model.HistoryEntry{Pool: al.Pool, Action: action, To: string(al.Severity),
		Reason: botapi.Truncate(al.Key+": "+reason, 1000), Actor: model.ActorMonitor}); err != nil && a.Log != nil {
		a.Log.Error("telegram: record alert in history", "key", al.Key, "err", err)
	}
}

// ForecastWithin is how soon a forecast "full" raises a P1 alert.
const ForecastWithin = 3 * 24 * time.Hour

// Conditions evaluates berth's alert conditions against the database now
// (a fleet.Summary read through q, the store's read pool):
//
//	P0 orphans            members with extra live seats (integrity check)
//	P0 overbooked         pools over capacity
//	P1 zombie_moves       moves pending too long
//	P1 release_failed     seats whose removal kept failing
//	P1 pool:NAME:STATUS   a pool banned, credential_invalid or offline
//	P1 full:KIND:GROUP    no free seat in the active pools of a group that has pools
//	P1 forecast:KIND:GROUP  full within ForecastWithin at the current rate
func Conditions(ctx context.Context, q *store.Queries) ([]Alert, error) {
	s := fleet.Read(ctx, q, fleet.Options{})
	var out []Alert
	if s.IntegrityErr != nil {
		return nil, fmt.Errorf("integrity check: %w", s.IntegrityErr)
	}
	rep := s.Integrity
	if n := len(rep.Orphans); n > 0 {
		names := make([]string, 0, 5)
		for _, o := range rep.Orphans[:min(n, 5)] {
			names = append(names, o.Member)
		}
		more := ""
		if n > 5 {
			more = fmt.Sprintf(" and %d more", n-5)
		}
		out = append(out, Alert{Key: "orphans", Severity: P0, Text: fmt.Sprintf("检测到孤儿用户！%d member(s) hold more than one live seat: %s%s. "+
			"GET /api/v1/integrity lists them; POST /api/v1/integrity/repair fixes them.", n, strings.Join(names, ", "), more)})
	}
	if n := len(rep.Overbooked); n > 0 {
		out = append(out, Alert{Key: "overbooked", Severity: P0, Text: fmt.Sprintf("%d pool(s) hold more seats than their capacity (first: %s).", n, rep.Overbooked[0].Pool)})
	}
	if n := len(rep.ZombieMoves); n > 0 {
		out = append(out, Alert{Key: "zombie_moves", Severity: P1, Text: fmt.Sprintf("%d move(s) pending for more than %s.", n, integrity.DefaultZombieAfter)})
	}
	if s.SeatsErr != nil {
		return nil, s.SeatsErr
	}
	if n := s.SeatsByState()[model.SeatReleaseFailed]; n > 0 {
		out = append(out, Alert{Key: "release_failed", Severity: P1, Text: fmt.Sprintf("%d seat(s) could not be removed from their pool (release_failed); retry with POST /api/v1/seats/{id}/release.", n)})
	}
	if s.PoolsErr != nil {
		return nil, s.PoolsErr
	}
	for _, p := range s.Unhealthy {
		msg := ""
		if p.StatusMessage != "" {
			msg = ": " + p.StatusMessage
		}
		out = append(out, Alert{Key: fmt.Sprintf("pool:%s:%s", p.Name, p.Status), Severity: P1, Pool: p.Name,
			Text: fmt.Sprintf("%s pool %s is %s%s (%d of %d seats used). Its members may move for free.", p.Kind, p.Name, p.Status, msg, p.Used, p.Capacity)})
	}
	if s.ForecastErr != nil {
		return nil, fmt.Errorf("capacity forecast: %w", s.ForecastErr)
	}
	now, fs := q.Now(), s.Forecast
	for _, f := range fs {
		where := fmt.Sprintf("%s:%s", f.Kind, f.Group)
		switch {
		case f.Free <= 0:
			out = append(out, Alert{Key: "full:" + where, Severity: P1, Text: fmt.Sprintf("No free seat left in the active %s pools of group %q (%d active, %d seats). New members and moves wait in the queue.",
				f.Kind, f.Group, f.ActivePools, f.Capacity)})
		case !f.Never && f.FullIn < ForecastWithin:
			out = append(out, Alert{Key: "forecast:" + where, Severity: P1, Text: fmt.Sprintf("The %s pools of group %q will be full in %s (%d free, %.1f placed an hour, %d seats coming back): add %d pool(s) before %s.",
				f.Kind, f.Group, f.FullIn.Round(time.Minute), f.Free, f.RatePerHour, f.ReleasesDue, max(f.PoolsNeeded, 1), f.FullAt(now).UTC().Format("2006-01-02 15:04 MST"))})
		}
	}
	sortAlerts(out)
	return out, nil
}

// Monitor evaluates Conditions every Interval and hands them to Alerter.
type Monitor struct {
	// Read is the store's read pool.
	Read     *store.Queries
	Alerter  *Alerter
	Interval time.Duration
	Log      *slog.Logger
}

// Run evaluates until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		m.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once evaluates the conditions and updates the chats once.
func (m *Monitor) Once(ctx context.Context) {
	alerts, err := Conditions(ctx, m.Read)
	if err != nil {
		if ctx.Err() == nil {
			m.Log.Error("telegram: evaluate alerts", "err", err)
		}
		return
	}
	if err := m.Alerter.Update(ctx, alerts); err != nil && ctx.Err() == nil {
		m.Log.Error("telegram: send alerts", "err", err)
	}
}
