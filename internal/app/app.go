// Package app wires berth together: store, allocation service, job queue and
// HTTP API. The serve and demo commands and the end-to-end tests all start
// berth through it, so they run the same thing.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/api"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/basepath"
	"github.com/berthhq/berth/internal/egress"
	"github.com/berthhq/berth/internal/health"
	"github.com/berthhq/berth/internal/jobs"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/notify"
	"github.com/berthhq/berth/internal/reqid"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/telegram"
	"github.com/berthhq/berth/internal/web"
)

// Config is everything needed to start berth.
type Config struct {
	DB         string // file path, sqlite:PATH or postgres://…
	Listen     string // e.g. 127.0.0.1:8080; ":0" picks a free port
	AdminToken string // BERTH_ADMIN_TOKEN; empty: created on first start
	// AdminPassword is the password of the user "admin" created on first
	// start (BERTH_ADMIN_PASSWORD); empty: generated and shown once.
	AdminPassword string
	// Auth overrides sign-in settings (tests); Store and AdminTokenHash
	// are filled in by Start.
	Auth      auth.Config
	SecretKey string // BERTH_SECRET_KEY; empty: key file next to the DB
	KeyFile   string // default: <db>.key, or ./berth.key for PostgreSQL
	Jobs      jobs.Config
	Log       *slog.Logger
	// Sealer overrides the key (tests).
	Sealer store.Sealer
	// Telegram configures alerts and the operator bot
	// (telegram.ConfigFromEnv: BERTH_TELEGRAM_TOKEN, _CHATS, _API).
	Telegram telegram.Config
	// SMTPURL configures expiry warnings by e-mail (BERTH_SMTP_URL), e.g.
	// smtp://user:pass@mail.example.com:587?from=berth@example.com
	SMTPURL string
	// DefaultLang is the language of the e-mails about finished moves
	// (BERTH_DEFAULT_LANG): "en", "zh-CN", or "" for both in one mail.
	DefaultLang string
	// BaseURL is berth's public address without a trailing slash
	// (BERTH_BASE_URL), written into absolute links such as the expiry
	// e-mails' status page; empty: no links. Its path, if any, is the
	// prefix berth serves under (BasePath, basepath.go).
	BaseURL string
	// Front: trusted proxies, cookie security, per-address public limits
	// (front.go).
	Front Front
	// ProviderAllowedHosts is the allow-list of addresses providers (SCIM,
	// webhook, SFTP) may connect to (BERTH_PROVIDER_ALLOWED_HOSTS, see
	// package egress); empty means "external": public addresses only.
	ProviderAllowedHosts string
	// HTTP bounds connections and request bodies.
	HTTP HTTPConfig
	// ShutdownDrain is how long Close keeps serving after /readyz starts
	// answering 503, so load balancers stop sending requests before the
	// listener closes (BERTH_SHUTDOWN_DRAIN; serve's default 5s, 0 here).
	ShutdownDrain time.Duration
	// AccessLog logs one line per request at info (BERTH_ACCESS_LOG,
	// --access-log): method, route pattern, status, duration, bytes,
	// client address, request id; never a raw path or query (accesslog.go).
	AccessLog bool
	// Metrics: who may read /metrics (BERTH_METRICS_ALLOWED_NETS, default
	// loopback; BERTH_METRICS_TOKEN) and the per-pool series cap
	// (BERTH_METRICS_POOL_SERIES).
	Metrics metrics.Config
	// PlanTTL is how long a plan may be applied after it was made
	// (BERTH_PLAN_TTL; 0: plans.DefaultTTL, 15 minutes).
	PlanTTL time.Duration
	// Health tunes the pool health scores placement down-ranks by
	// (BERTH_HEALTH_HALF_LIFE, _LATENCY_TARGET, _THRESHOLD, _RECOVERY_MARGIN;
	// package health).
	Health health.Config
}

// App is a running berth.
type App struct {
	// Telegram is the alerter and operator bot, when configured.
	Telegram *telegram.Service
	Store    *store.Store
	Alloc    *alloc.Service
	Queue    *jobs.Queue
	API      *api.Server
	// Auth signs users in, resolves sessions and tokens, manages users and
	// writes the audit log; the API and the web console share it.
	Auth *auth.Service
	URL  string
	// NewAdminToken is set when this start created the admin token; it is
	// shown once and never stored in the clear.
	NewAdminToken string
	// NewAdminPassword is set when this start created the user "admin" with
	// a generated password; it is shown once and only its hash is stored.
	NewAdminPassword string
	// NewKeyFile is set when this start created the secret key file.
	NewKeyFile string

	srv   *http.Server
	ln    net.Listener
	log   *slog.Logger
	drain time.Duration // Config.ShutdownDrain
}

// OpenStore opens (and migrates) the database with the configured key,
// refusing a key that does not open its data (keys.go).
func OpenStore(ctx context.Context, cfg *Config) (*store.Store, string, error) {
	st, newKey, err := openKeyed(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	if err := jobs.Migrate(ctx, st); err != nil {
		st.Close()
		return nil, "", err
	}
	return st, newKey, nil
}

// Start opens the database, starts the workers and serves HTTP.
func Start(ctx context.Context, cfg Config) (*App, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	// Lines logged with a request's or a job's context name its id.
	log = slog.New(reqid.Handler(log.Handler()))
	if cfg.DB == "" {
		cfg.DB = "berth.db"
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	// Every provider call runs in a context derived from ctx (the job
	// workers) or from the HTTP server's base context (reconcile), and
	// connects under the allow-list it carries.
	egressPolicy, err := egress.Parse(cfg.ProviderAllowedHosts)
	if err != nil {
		return nil, err
	}
	ctx = egress.NewContext(ctx, egressPolicy)
	front, err := newFront(cfg.Front)
	if err != nil {
		return nil, err
	}
	prefix, err := BasePath(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	st, newKey, err := OpenStore(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	a := &App{Store: st, NewKeyFile: newKey, log: log, drain: cfg.ShutdownDrain}
	if newKey != "" {
		log.Warn("created a new secret key file; back it up: without it the stored credential files cannot be read", "path", newKey)
	}
	a.Alloc = alloc.New(st, nil, log)
	a.Alloc.SetHealthConfig(cfg.Health)
	if cfg.SMTPURL != "" {
		sc, err := notify.ParseSMTPURL(cfg.SMTPURL)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("BERTH_SMTP_URL: %w", err)
		}
		mailer, err := notify.NewSMTP(sc)
		if err != nil {
			st.Close()
			return nil, err
		}
		cfg.Jobs.Warner = &notify.Warner{Store: st, Mailer: mailer, Log: log, BaseURL: cfg.BaseURL}
		lang, err := notify.ParseLang(cfg.DefaultLang)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("BERTH_DEFAULT_LANG: %w", err)
		}
		cfg.Jobs.MoveMailer = &notify.MoveMailer{Store: st, Mailer: mailer, Lang: lang, Log: log, BaseURL: cfg.BaseURL}
	}
	if a.Queue, err = jobs.New(ctx, st, a.Alloc, cfg.Jobs, log); err != nil {
		st.Close()
		return nil, err
	}
	token, hash, created, err := api.EnsureAdminToken(ctx, st, cfg.AdminToken)
	if err != nil {
		st.Close()
		return nil, err
	}
	if created {
		a.NewAdminToken = token
	}
	authCfg := cfg.Auth
	authCfg.Store, authCfg.AdminTokenHash = st, hash
	if authCfg.Log == nil {
		authCfg.Log = log
	}
	a.Auth = auth.New(authCfg)
	if a.NewAdminPassword, _, err = a.Auth.EnsureFirstAdmin(ctx, cfg.AdminPassword); err != nil {
		st.Close()
		return nil, err
	}
	a.API = api.New(a.Alloc, a.Auth, log)
	a.API.SetReconciler(a.Queue)
	a.API.SetJobsCheck(a.Queue.Health)
	a.API.SetMetrics(cfg.Metrics)
	a.API.SetPlanTTL(cfg.PlanTTL)
	front.limitAPI(a.API)
	if err := a.Queue.Start(context.WithoutCancel(ctx)); err != nil {
		st.Close()
		return nil, err
	}
	if cfg.Telegram.Enabled() {
		cfg.Telegram.BaseURL = cfg.BaseURL
		if a.Telegram, err = telegram.Start(context.WithoutCancel(ctx), cfg.Telegram, a.Alloc, telegram.DepsOf(a.Store, a.Alloc), log); err != nil {
			a.Queue.Stop(ctx)
			st.Close()
			return nil, err
		}
	}
	a.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		a.Telegram.Stop()
		a.Queue.Stop(ctx)
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	a.URL = "http://" + a.ln.Addr().String()
	// The web console owns /, /login, /logout, /lang, /admin/…, /redeem,
	// /status and /assets/; the JSON API everything else.
	mux := http.NewServeMux()
	mux.Handle("/", a.API)
	console := front.limitWeb(web.New(a.Alloc, a.Auth, log))
	console.SetChecker(a.Queue)
	console.SetPlanTTL(cfg.PlanTTL)
	console.SetBasePath(prefix)
	console.Mount(mux)
	var handler http.Handler = mux
	if cfg.AccessLog {
		handler = accessLog(log, newPatterns(mux, a.API, console), mux)
	}
	// Under a path prefix (BERTH_BASE_URL's path) the prefix comes off
	// the request and goes onto Location headers (package basepath).
	handler = basepath.Handler(prefix, handler)
	hc := cfg.HTTP.withDefaults()
	a.ln = newLimitListener(a.ln, hc.MaxConnections)
	// net/http's own complaints (TLS handshakes, panics it recovers) go
	// through the configured logger too, not the log package's stderr.
	a.srv = &http.Server{Handler: bodyDeadline(hc.BodyTimeout, front.wrap(handler)), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}
	a.srv.BaseContext = func(net.Listener) context.Context { return egress.NewContext(context.Background(), egressPolicy) }
	go func() {
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	return a, nil
}

// Close stops serving, lets running jobs finish and closes the database.
func (a *App) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if a.srv != nil {
		// Unready first, then a drain period with the listener still
		// open, then the listener closes.
		a.API.Drain()
		if d := a.drain; d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		a.srv.Shutdown(ctx)
	}
	a.Telegram.Stop() // nil-safe
	if a.Queue != nil {
		a.Queue.Stop(ctx)
	}
	return a.Store.Close()
}
