// Package telegram tells operators what berth needs them to know, and lets
// them act, through a Telegram bot:
//
//   - alerts (Alerter, Monitor): P0 and P1 conditions (orphans, unhealthy
//     pools, full pools, a capacity forecast, failed removals…) sent to the
//     configured chats once per condition, with a message when it clears,
//     and recorded in history;
//   - an operator bot (Bot) that long-polls getUpdates and answers only the
//     configured chat ids: /status, /pools, /queue, /invite EMAIL CODE and
//     /pause POOL REASON.
//
// It speaks the Bot API through package botapi (the HTTP calls, the
// parsing of answers, the message types). The bot token is a secret: it is
// never logged, and errors carry the URL without it.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/telegram/botapi"
)

// Environment variables of the Telegram integration.
const (
	EnvToken = "BERTH_TELEGRAM_TOKEN" // the bot's token (secret); empty: Telegram is off
	EnvChats = "BERTH_TELEGRAM_CHATS" // comma-separated chat ids: alerts go to each; the bot answers only them
	EnvAPI   = "BERTH_TELEGRAM_API"   // Bot API base URL (default https://api.telegram.org)
	// EnvOperators lists the Telegram user ids that may /invite and /pause
	// from a group chat (comma-separated). Others in an allowed group read.
	EnvOperators = "BERTH_TELEGRAM_OPERATORS"
)

// Config configures alerts and the operator bot.
type Config struct {
	Token string
	Chats []int64
	API   string
	// Operators may run the changing commands from group chats.
	Operators []int64
	// AlertInterval is how often alert conditions are evaluated (1m).
	AlertInterval time.Duration
	// PollTimeout is the getUpdates long-polling wait (30s).
	PollTimeout time.Duration
	// NoBot sends alerts only (another process answers the bot: Telegram
	// gives one bot's updates to one poller).
	NoBot bool
	// LeaderInterval: on PostgreSQL only the replica holding the leader
	// lock runs the monitor and the bot (leader.go); the others try to take
	// it over this often (DefaultLeaderInterval).
	LeaderInterval time.Duration
	// BaseURL is berth's public address (BERTH_BASE_URL, read by serve,
	// not by ConfigFromEnv); alerts link the console under it (Alerter).
	BaseURL string
}

// Enabled reports whether a token is set.
func (c Config) Enabled() bool { return c.Token != "" }

// String describes the configuration without the token.
func (c Config) String() string {
	return fmt.Sprintf("telegram{api %s, chats %v, token set %v}", c.API, c.Chats, c.Token != "")
}

// ConfigFromEnv reads BERTH_TELEGRAM_TOKEN, BERTH_TELEGRAM_CHATS and
// BERTH_TELEGRAM_API. Without a token Telegram is off (Enabled is false).
func ConfigFromEnv() (Config, error) {
	c, err := ParseConfig(os.Getenv(EnvToken), os.Getenv(EnvChats), os.Getenv(EnvAPI))
	if err != nil {
		return c, err
	}
	c.Operators, err = parseIDs(EnvOperators, os.Getenv(EnvOperators), "a user id (a number)")
	return c, err
}

// parseIDs reads a comma-, space- or semicolon-separated list of ids.
func parseIDs(env, list, want string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not %s", env, f, want)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// ParseConfig validates the three settings.
func ParseConfig(token, chats, api string) (Config, error) {
	c := Config{Token: strings.TrimSpace(token), API: strings.TrimSpace(api)}
	var err error
	if c.Chats, err = parseIDs(EnvChats, chats, "a chat id (a number, negative for groups)"); err != nil {
		return c, err
	}
	if c.Token == "" {
		return c, nil
	}
	if len(c.Chats) == 0 {
		return c, fmt.Errorf("%s is set but %s is empty: name the chat ids that get alerts and may use the bot", EnvToken, EnvChats)
	}
	if c.API != "" && !strings.HasPrefix(c.API, "https://") && !strings.HasPrefix(c.API, "http://") {
		return c, fmt.Errorf("%s must be an http(s) URL, got %q", EnvAPI, c.API)
	}
	return c, nil
}

// Service is the running Telegram integration.
type Service struct {
	Alerter *Alerter
	Monitor *Monitor
	Bot     *Bot // nil with NoBot

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Deps is what the integration reads and writes besides the allocation
// service (the bot's /invite).
type Deps struct {
	// Pools makes the bot's /pause.
	Pools *pooladmin.Service
	// Read is the store's read pool (store.Store.Reader): the bot's
	// answers, the alert conditions and the alerts' history.
	Read *store.Queries
	// History records each alert sent and resolved as a history row.
	History HistoryWriter
	// LeaderDSN names, on PostgreSQL, the database the leader lock is taken
	// in (leader.go); empty on SQLite, whose database this process owns.
	LeaderDSN string
}

// HistoryWriter writes history rows; *store.Store is one. The alerts'
// rows are the only thing Telegram writes other than through the
// services (alloc, pooladmin).
type HistoryWriter interface {
	HistoryAdd(ctx context.Context, h model.HistoryEntry) error
}

// DepsOf takes Deps from the open store and the allocation service: the
// pools' administration, the store's read pool and history, and on
// PostgreSQL its DSN for the leader lock.
func DepsOf(st *store.Store, svc *alloc.Service) Deps {
	d := Deps{Pools: pooladmin.New(st, svc), Read: st.Reader(), History: st}
	if st.Dialect == store.Postgres {
		d.LeaderDSN = st.DSN
	}
	return d
}

// Start runs the alert monitor and (unless NoBot) the operator bot in the
// background until Stop. svc makes the bot's changes; d gives the reads,
// the alerts' history and the leader lock; log gets refusals and failures
// (never the token).
//
// Wiring (app.Start), with cfg from ConfigFromEnv:
//
//	if cfg.Enabled() {
//		tg, err := telegram.Start(context.WithoutCancel(ctx), cfg, a.Alloc, telegram.DepsOf(a.Store, a.Alloc), log)
//		… keep tg; in Close: tg.Stop()
//	}
func Start(ctx context.Context, cfg Config, svc *alloc.Service, d Deps, log *slog.Logger) (*Service, error) {
	if !cfg.Enabled() {
		return nil, errors.New("telegram: no token")
	}
	if len(cfg.Chats) == 0 {
		return nil, fmt.Errorf("telegram: no chat ids (%s)", EnvChats)
	}
	if d.Read == nil || (!cfg.NoBot && d.Pools == nil) {
		return nil, errors.New("telegram: Deps lacks the store's reader or the pools' administration (telegram.DepsOf)")
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.AlertInterval <= 0 {
		cfg.AlertInterval = time.Minute
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 30 * time.Second
	}
	client := botapi.NewClient(cfg.API, cfg.Token, cfg.PollTimeout)
	s := &Service{Alerter: &Alerter{Client: client, Chats: cfg.Chats, History: d.History, Read: d.Read, Log: log, BaseURL: cfg.BaseURL}}
	s.Monitor = &Monitor{Read: d.Read, Alerter: s.Alerter, Interval: cfg.AlertInterval, Log: log}
	if !cfg.NoBot {
		allowed := map[int64]bool{}
		for _, id := range cfg.Chats {
			allowed[id] = true
		}
		operators := map[int64]bool{}
		for _, id := range cfg.Operators {
			operators[id] = true
		}
		s.Bot = &Bot{Client: client, Svc: svc, Pools: d.Pools, Read: d.Read, Chats: allowed, Operators: operators, Log: log, Alerter: s.Alerter, PollTimeout: cfg.PollTimeout}
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	if d.LeaderDSN != "" {
		// Replicas share the database: only the leader runs them.
		if cfg.LeaderInterval <= 0 {
			cfg.LeaderInterval = DefaultLeaderInterval
		}
		go func() {
			defer s.wg.Done()
			lead(ctx, d.LeaderDSN, cfg.LeaderInterval, log, s.run)
		}()
		log.Info("telegram: alerts and operator bot start on the replica holding the leader lock", "api", client.API(), "chats", len(cfg.Chats), "bot", !cfg.NoBot)
		return s, nil
	}
	// SQLite: this process owns the database (store/lock.go).
	go func() {
		defer s.wg.Done()
		s.run(ctx)
	}()
	log.Info("telegram: alerts and operator bot started", "api", client.API(), "chats", len(cfg.Chats), "bot", !cfg.NoBot)
	return s, nil
}

// run runs the monitor and the bot until ctx ends, the monitor going on
// from the alerts history says are active.
func (s *Service) run(ctx context.Context) {
	if err := s.Alerter.Restore(ctx); err != nil && ctx.Err() == nil {
		s.Monitor.Log.Error("telegram: read the active alerts from history", "err", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Monitor.Run(ctx)
	}()
	if s.Bot != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Bot.Run(ctx)
		}()
	}
	wg.Wait()
}

// Stop ends the monitor and the bot and waits for them.
func (s *Service) Stop() {
	if s == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
}
