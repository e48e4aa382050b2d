package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/notify"
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

// runServe runs the server. Besides its flags it reads the environment
// (serveEnv); docs/configuration.md describes every setting, and the
// secrets may be given as files (NAME_FILE, secretenv.go).
func runServe(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg := serverFlags("serve", errOut, "berth.db")
	fs.Usage = func() { serveUsage(fs.FlagSet) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := serveEnv(cfg); err != nil {
		return err
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

// serveUsage is berth serve -h: the flags, and where the settings of the
// environment are described.
func serveUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintln(w, "usage: berth serve [flags]\n\nflags:")
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nThe environment configures the rest (secrets, limits, metrics, Telegram, e-mail);")
	fmt.Fprintln(w, "each secret may also be read from a file named by NAME_FILE.")
	fmt.Fprintln(w, "Every flag and variable: "+configDoc)
}

// configDoc is the document listing every setting.
const configDoc = "docs/configuration.md"

// serveEnv reads serve's settings from the environment into cfg (the list
// is in runServe's comment and docs/configuration.md).
func serveEnv(cfg *app.Config) error {
	if err := frontFromEnv(cfg); err != nil { // BERTH_TRUSTED_PROXIES, _COOKIE_SECURE, the limits: front.go
		return err
	}
	cfg.ProviderAllowedHosts = os.Getenv("BERTH_PROVIDER_ALLOWED_HOSTS")
	var err error
	if cfg.BaseURL, err = parseBaseURL(os.Getenv("BERTH_BASE_URL")); err != nil {
		return err
	}
	cfg.DefaultLang = os.Getenv("BERTH_DEFAULT_LANG")
	if _, err := notify.ParseLang(cfg.DefaultLang); err != nil {
		return fmt.Errorf("BERTH_DEFAULT_LANG: %w", err)
	}
	if cfg.Telegram, err = telegram.ConfigFromEnv(); err != nil {
		return err
	}
	if cfg.Metrics, err = metrics.ConfigFromEnv(); err != nil {
		return err
	}
	if err := secretsFromEnv(cfg); err != nil { // the secrets, or their _FILE: secretenv.go
		return err
	}
	if cfg.HTTP.BodyTimeout, err = envDuration("BERTH_HTTP_BODY_TIMEOUT"); err != nil {
		return err
	}
	if cfg.HTTP.MaxConnections, err = envInt("BERTH_HTTP_MAX_CONNECTIONS"); err != nil {
		return err
	}
	if cfg.ShutdownDrain, err = shutdownDrain(); err != nil { // drain.go
		return err
	}
	if cfg.Health, err = healthEnv(); err != nil { // health.go
		return err
	}
	if cfg.PlanTTL, err = envDuration("BERTH_PLAN_TTL"); err != nil {
		return err
	}
	if cfg.Jobs.PlanRetention, err = planRetention(); err != nil { // planretention.go
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
	if cfg.Jobs.SampleInterval, err = envDuration("BERTH_FLEET_SAMPLE_EVERY"); err != nil {
		return err
	}
	if cfg.Jobs.RebalanceMovesPerMinute, err = envInt("BERTH_REBALANCE_MOVES_PER_MINUTE"); err != nil {
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
	return nil
}

// parseBaseURL checks BERTH_BASE_URL, berth's public address written into
// absolute links (expiry e-mails, Telegram alerts): an absolute http(s)
// URL with a host, maybe a path (the prefix berth serves under,
// app.BasePath), no query, fragment or user. It returns it
// without a trailing slash; empty stays empty (no links). A bad value is a
// usage error (exit 2).
func parseBaseURL(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	bad := func(why string) (string, error) {
		return "", usageError{fmt.Sprintf("BERTH_BASE_URL=%q: %s; want the public address such as https://berth.example.com or https://example.com/berth", v, why)}
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return bad("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("not an absolute http(s) URL")
	case u.Host == "" || u.Hostname() == "":
		return bad("no host")
	case u.User != nil:
		return bad("a user or password does not belong in it")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("drop the query (?…)")
	case u.Fragment != "" || strings.Contains(v, "#"):
		return bad("drop the fragment (#…)")
	case u.Opaque != "":
		return bad("not an absolute http(s) URL")
	}
	if _, err := app.BasePath(v); err != nil {
		return "", usageError{err.Error()}
	}
	return strings.TrimRight(v, "/"), nil
}

// envDuration reads a positive Go duration from the environment; unset or
// empty is zero (the default applies).
func envDuration(name string) (time.Duration, error) {
	return envPositive(name, model.ParseDuration, "a positive duration such as 30s, 2m or 1d")
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
	var err error
	if cfg.SecretKey, err = envSecret("BERTH_SECRET_KEY"); err != nil {
		return err
	}
	st, _, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(out, "database %s is at schema version %d\n", dialectName(st), st.SchemaVersion())
	return nil
}

func dialectName(st *store.Store) string { return string(st.Dialect) }
