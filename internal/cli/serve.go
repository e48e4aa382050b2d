package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/telegram"
)

func serverFlags(name string, errOut io.Writer, defDB string) (*flagSet, *app.Config) {
	fs := newFlags(name, errOut)
	cfg := &app.Config{}
	fs.StringVar(&cfg.Listen, "listen", envOr("BERTH_LISTEN", "127.0.0.1:8080"), "address to serve HTTP on")
	fs.StringVar(&cfg.DB, "db", envOr("BERTH_DB", defDB), "database: a file path, sqlite:PATH or postgres://…")
	fs.StringVar(&cfg.KeyFile, "key-file", os.Getenv("BERTH_KEY_FILE"), "secret key file (default: <db>.key on SQLite; on PostgreSQL this or BERTH_SECRET_KEY is required; ignored when BERTH_SECRET_KEY is set)")
	verbose := fs.Bool("v", false, "log debug messages")
	return &flagSet{fs, verbose, addLogFlags(fs, cfg)}, cfg // logging.go
}

type flagSet struct {
	*flag.FlagSet
	verbose *bool
	logs    *logFlags
}

// runServe runs the server. Besides its flags it reads the environment:
//
//	BERTH_ADMIN_TOKEN       the admin token (empty: created on first start)
//	BERTH_ADMIN_PASSWORD    the password of the user "admin" created on first
//	                        start (empty: generated and printed once)
//	BERTH_SECRET_KEY        base64 of the 32-byte key sealing credential files
//	                        (or --key-file; one of them is required on
//	                        PostgreSQL; berth keys rotate replaces the key)
//	BERTH_JOB_TIMEOUT       how long one job may run, a Go duration such as
//	                        "30s" (default 1m)
//	BERTH_JOB_RESCUE_AFTER  when a job left running by a process that died
//	                        (crash, kill -9) is retried, a Go duration longer
//	                        than the job timeout (default: job timeout + 30s);
//	                        PostgreSQL only: on SQLite berth owns the file
//	                        and retries them at its next start
//	BERTH_DELIVERY_RETRY_FOR  how long a seat's delivery is retried while its
//	                        provider answers 5xx, 429 or times out (tries at
//	                        most a minute apart), the seat keeping its room,
//	                        before the member is placed elsewhere (default 6h)
//	BERTH_HTTP_BODY_TIMEOUT time a request body may take to arrive, plus a
//	                        second per 32 KiB (default 15s)
//	BERTH_HTTP_MAX_CONNECTIONS  open connections at most (default 4096)
//	BERTH_PROVIDER_ALLOWED_HOSTS  addresses providers (SCIM, webhook, SFTP)
//	                        may connect to: external (default), loopback,
//	                        private, CIDRs, host names, * (package egress)
//	BERTH_TRUSTED_PROXIES, BERTH_COOKIE_SECURE, BERTH_PUBLIC_RATE/_BURST,
//	BERTH_FORM_RATE/_BURST, BERTH_LOGIN_RATE/_BURST: see front.go
//	BERTH_METRICS_ALLOWED_NETS, BERTH_METRICS_TOKEN, BERTH_METRICS_POOL_SERIES:
//	                        who may read /metrics (default loopback) and
//	                        the per-pool series cap (metrics.ConfigFromEnv)
//	BERTH_PPROF_LISTEN      serve Go's profiler on this loopback address
//	                        (e.g. 127.0.0.1:6060); off when unset
//
// The job settings are for operators with unusually slow providers and for
// crash tests that need a dead process's jobs rescued quickly.
func runServe(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg := serverFlags("serve", errOut, "berth.db")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.AdminToken = os.Getenv("BERTH_ADMIN_TOKEN")
	cfg.AdminPassword = os.Getenv("BERTH_ADMIN_PASSWORD")
	cfg.SecretKey = os.Getenv("BERTH_SECRET_KEY")
	cfg.SMTPURL = os.Getenv("BERTH_SMTP_URL")
	if err := frontFromEnv(cfg); err != nil { // BERTH_TRUSTED_PROXIES, _COOKIE_SECURE, the limits: front.go
		return err
	}
	cfg.ProviderAllowedHosts = os.Getenv("BERTH_PROVIDER_ALLOWED_HOSTS")
	var err error
	if cfg.Telegram, err = telegram.ConfigFromEnv(); err != nil {
		return err
	}
	if cfg.Metrics, err = metrics.ConfigFromEnv(); err != nil {
		return err
	}
	if cfg.HTTP.BodyTimeout, err = envDuration("BERTH_HTTP_BODY_TIMEOUT"); err != nil {
		return err
	}
	if cfg.HTTP.MaxConnections, err = envInt("BERTH_HTTP_MAX_CONNECTIONS"); err != nil {
		return err
	}
	if cfg.Jobs.JobTimeout, err = envDuration("BERTH_JOB_TIMEOUT"); err != nil {
		return err
	}
	if cfg.Jobs.RescueAfter, err = envDuration("BERTH_JOB_RESCUE_AFTER"); err != nil {
		return err
	}
	if cfg.Jobs.DeliveryRetryFor, err = envDuration("BERTH_DELIVERY_RETRY_FOR"); err != nil {
		return err
	}
	if r := cfg.Jobs.RescueAfter; r > 0 {
		t := cfg.Jobs.JobTimeout
		if t == 0 {
			t = time.Minute // jobs.Config's default
		}
		if r <= t {
			return fmt.Errorf("BERTH_JOB_RESCUE_AFTER (%s) must be longer than the job timeout (%s): a job still running would be started twice", r, t)
		}
	}
	cfg.Log = fs.logger(errOut)
	if err := startPprof(ctx, os.Getenv("BERTH_PPROF_LISTEN"), cfg.Log); err != nil {
		return err
	}
	a, err := app.Start(ctx, *cfg)
	if err != nil {
		return err
	}
	printStart(out, a)
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down")
	return a.Close(context.Background())
}

// envDuration reads a positive Go duration from the environment; unset or
// empty is zero (the default applies).
func envDuration(name string) (time.Duration, error) {
	return envPositive(name, time.ParseDuration, "a positive duration such as 30s or 2m")
}

// envInt reads a positive integer from the environment; unset or empty is
// zero (the default applies).
func envInt(name string) (int, error) {
	return envPositive(name, strconv.Atoi, "a positive whole number")
}

// envPositive reads a positive value with parse from the environment;
// unset or empty is zero. want says what is expected, for the error.
func envPositive[T int | time.Duration](name string, parse func(string) (T, error), want string) (T, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := parse(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want %s", name, v, want)
	}
	return n, nil
}

func printStart(out io.Writer, a *app.App) {
	fmt.Fprintf(out, "berth serving on %s (database %s)\n", a.URL, a.Store.Dialect)
	fmt.Fprintf(out, "  API docs: %s/docs\n", a.URL)
	if a.NewAdminToken != "" {
		fmt.Fprintf(out, "  admin token (shown once, store it now): %s\n", a.NewAdminToken)
	}
	if a.NewAdminPassword != "" {
		fmt.Fprintf(out, "  sign in as user admin with password (shown once, store it now): %s\n", a.NewAdminPassword)
	}
}

func runMigrate(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg := serverFlags("migrate", errOut, "berth.db")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.SecretKey = os.Getenv("BERTH_SECRET_KEY")
	st, _, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(out, "database %s is at schema version %d\n", dialectName(st), st.SchemaVersion())
	return nil
}

func dialectName(st *store.Store) string { return string(st.Dialect) }
