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
)

// Environment variables of the Telegram integration.
const (
	EnvToken = "BERTH_TELEGRAM_TOKEN" // the bot's token (secret); empty: Telegram is off
	EnvChats = "BERTH_TELEGRAM_CHATS" // comma-separated chat ids: alerts go to each; the bot answers only them
	EnvAPI   = "BERTH_TELEGRAM_API"   // Bot API base URL (default https://api.telegram.org)
)

// Config configures alerts and the operator bot.
type Config struct {
	Token string
	Chats []int64
	API   string
	// AlertInterval is how often alert conditions are evaluated (1m).
	AlertInterval time.Duration
	// PollTimeout is the getUpdates long-polling wait (30s).
	PollTimeout time.Duration
	// NoBot sends alerts only (another process answers the bot: Telegram
	// gives one bot's updates to one poller).
	NoBot bool
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
	return ParseConfig(os.Getenv(EnvToken), os.Getenv(EnvChats), os.Getenv(EnvAPI))
}

// ParseConfig validates the three settings.
func ParseConfig(token, chats, api string) (Config, error) {
	c := Config{Token: strings.TrimSpace(token), API: strings.TrimSpace(api)}
	for _, f := range strings.FieldsFunc(chats, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return c, fmt.Errorf("%s: %q is not a chat id (a number, negative for groups)", EnvChats, f)
		}
		c.Chats = append(c.Chats, id)
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

// Start runs the alert monitor and (unless NoBot) the operator bot in the
// background until Stop. svc gives the bot the allocation service and the
// store; log gets refusals and failures (never the token).
//
// Wiring (app.Start), with cfg from ConfigFromEnv:
//
//	if cfg.Enabled() {
//		tg, err := telegram.Start(context.WithoutCancel(ctx), cfg, a.Alloc, log)
//		… keep tg; in Close: tg.Stop()
//	}
func Start(ctx context.Context, cfg Config, svc *alloc.Service, log *slog.Logger) (*Service, error) {
	if !cfg.Enabled() {
		return nil, errors.New("telegram: no token")
	}
	if len(cfg.Chats) == 0 {
		return nil, fmt.Errorf("telegram: no chat ids (%s)", EnvChats)
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
	client := NewClient(cfg.API, cfg.Token, cfg.PollTimeout)
	st := svc.Store()
	s := &Service{Alerter: &Alerter{Client: client, Chats: cfg.Chats, Store: st, Log: log}}
	s.Monitor = &Monitor{Store: st, Alerter: s.Alerter, Interval: cfg.AlertInterval, Log: log}
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.Monitor.Run(ctx)
	}()
	if !cfg.NoBot {
		allowed := map[int64]bool{}
		for _, id := range cfg.Chats {
			allowed[id] = true
		}
		s.Bot = &Bot{Client: client, Svc: svc, Chats: allowed, Log: log, Alerter: s.Alerter, PollTimeout: cfg.PollTimeout}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.Bot.Run(ctx)
		}()
	}
	log.Info("telegram: alerts and operator bot started", "api", client.api, "chats", len(cfg.Chats), "bot", !cfg.NoBot)
	return s, nil
}

// Stop ends the monitor and the bot and waits for them.
func (s *Service) Stop() {
	if s == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
}
