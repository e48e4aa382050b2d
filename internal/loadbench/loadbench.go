// Package loadbench is a load benchmark of a running berth over HTTP, the
// code behind `berth bench`. It starts berth servers as child processes on
// a fresh database (or targets one already running), seeds pools and codes
// through the admin API, and measures public redeems (valid, wrong, both at
// once), a rebind storm after a ban and a batch import, each with requests
// per second and latency percentiles. A trivial net/http handler served by
// the benchmark itself is measured with the same client machinery, so every
// rate can be given as a ratio to it: the ratios travel between machines
// better than the absolute numbers.
//
// Public requests come from many loopback source addresses, one per
// simulated user (userAddr), each on a fresh connection, so berth's
// per-address limit throttles nobody who behaves. Nothing but IPv4 loopback
// is ever contacted.
package loadbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Workloads are the workload names, in the order they run.
var Workloads = []string{"trivial", "redeem-valid", "redeem-wrong", "redeem-mixed", "rebind-storm", "import"}

// Config is a benchmark run.
type Config struct {
	// ServerBin is the berth binary started as `ServerBin serve …`.
	ServerBin string `json:"server_bin,omitempty"`
	// DB is empty for a fresh SQLite file in a temp dir, or a postgres://
	// URL on whose server a fresh database is created and dropped.
	DB string `json:"-"` // may hold a password
	// Replicas is how many servers share the database (PostgreSQL only);
	// public clients are spread over them round-robin.
	Replicas int `json:"replicas"`
	// URL and Token target a berth already running instead.
	URL   string `json:"url,omitempty"`
	Token string `json:"-"`
	// Only lists the workloads to run (empty: all).
	Only []string `json:"only,omitempty"`
	// MaxDuration bounds each workload; it stops handing out requests then.
	MaxDuration time.Duration `json:"max_duration_ns"`

	Clients           int `json:"clients"`             // public clients of trivial, the redeems and the rebind storm
	Users             int `json:"users"`               // redeem-valid (and trivial's request count)
	Teams             int `json:"teams"`               // teams seeded for redeem-valid
	TeamCapacity      int `json:"team_capacity"`       // seats per team
	Wrong             int `json:"wrong"`               // redeem-wrong requests
	MixedUsers        int `json:"mixed_users"`         // redeem-mixed's valid redeems (fresh users, fresh teams)
	MixedWrongClients int `json:"mixed_wrong_clients"` // redeem-mixed's clients sending wrong codes
	BanTeams          int `json:"ban_teams"`           // rebind-storm: teams banned
	Accounts          int `json:"accounts"`            // import: credential files
	Servers           int `json:"servers"`             // import: server pools
	ServerCapacity    int `json:"server_capacity"`     // import: accounts per server
	BatchSize         int `json:"batch_size"`          // import: files per request
	ImportClients     int `json:"import_clients"`      // import: requests in parallel
	FileSize          int `json:"file_size"`           // import: bytes per credential file

	// Log receives progress lines (nil: discarded).
	Log io.Writer `json:"-"`
}

// DefaultConfig is the benchmark as documented in `berth bench -h`.
func DefaultConfig() Config {
	return Config{
		Replicas: 1, MaxDuration: 60 * time.Second, Clients: 64,
		Users: 10000, Teams: 2000, TeamCapacity: 5, Wrong: 20000, MixedUsers: 5000, MixedWrongClients: 16, BanTeams: 200,
		Accounts: 5000, Servers: 1000, ServerCapacity: 5, BatchSize: 500, ImportClients: 4, FileSize: 1024,
	}
}

// Scale multiplies every count (users, teams, wrong codes, mixed users,
// banned teams, accounts, servers) by f, keeping each at least 1.
func (c *Config) Scale(f float64) {
	for _, p := range []*int{&c.Users, &c.Teams, &c.Wrong, &c.MixedUsers, &c.BanTeams, &c.Accounts, &c.Servers} {
		*p = max(1, int(float64(*p)*f+0.5))
	}
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

func (c *Config) wants(name string) bool { return len(c.Only) == 0 || slices.Contains(c.Only, name) }

// check validates the configuration.
func (c *Config) check() error {
	for _, n := range c.Only {
		if !slices.Contains(Workloads, n) {
			return fmt.Errorf("--only: unknown workload %q (have %s)", n, strings.Join(Workloads, ", "))
		}
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"clients", c.Clients}, {"users", c.Users}, {"teams", c.Teams}, {"team-capacity", c.TeamCapacity}, {"wrong", c.Wrong},
		{"mixed-users", c.MixedUsers}, {"mixed-wrong-clients", c.MixedWrongClients}, {"ban-teams", c.BanTeams}, {"accounts", c.Accounts},
		{"servers", c.Servers}, {"server-capacity", c.ServerCapacity}, {"batch", c.BatchSize}, {"import-clients", c.ImportClients},
		{"file-size", c.FileSize}, {"replicas", c.Replicas}} {
		if v.n < 1 {
			return fmt.Errorf("--%s must be at least 1, got %d", v.name, v.n)
		}
	}
	switch {
	case c.MaxDuration <= 0:
		return errors.New("--max-duration must be positive")
	case c.BatchSize > 5000:
		return errors.New("--batch: berth takes at most 5000 files a request")
	case c.URL != "" && (c.DB != "" || c.Replicas != 1):
		return errors.New("--url targets a running berth: --db and --replicas are for the servers the benchmark starts")
	case c.URL != "" && c.Token == "":
		return errors.New("--url needs the admin token: --token or BERTH_ADMIN_TOKEN")
	case c.URL == "" && c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://"):
		return errors.New("--db: give a postgres:// URL (a fresh database is created on its server), or leave it empty for a fresh SQLite file")
	case c.URL == "" && c.Replicas > 1 && c.DB == "":
		return errors.New("--replicas above 1 needs --db postgres://… (SQLite is one process)")
	case c.URL == "" && c.ServerBin == "":
		return errors.New("no server binary: --server-bin")
	}
	return nil
}

// Result is one workload's row.
type Result struct {
	Workload string `json:"workload"`
	// Unit is what RPS counts: "requests", or "accounts" for the import
	// (whose latencies are per batch request).
	Unit     string  `json:"unit"`
	Requests int     `json:"requests"` // HTTP requests sent (answered or not)
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
	// Errors counts the non-2xx answers by status; "net" counts requests
	// that got no answer.
	Errors map[string]int `json:"errors"`
	// Ratio is RPS over the trivial handler's requests/s measured just
	// before this workload (Extra["trivial_rps"]); 0 when trivial is not
	// selected.
	Ratio   float64  `json:"ratio_to_trivial"`
	Stopped bool     `json:"stopped_at_max_duration"`
	Notes   []string `json:"notes,omitempty"`
	// Extra holds workload-specific numbers, e.g. the seconds until every
	// user of a rebind storm is active again.
	Extra map[string]float64 `json:"extra,omitempty"`
}

// Report is a benchmark run's outcome.
type Report struct {
	Started time.Time `json:"started"`
	Target  string    `json:"target"`
	Host    string    `json:"host"`
	Config  Config    `json:"config"`
	Results []Result  `json:"results"`
}

// Markdown writes the report as a heading line and a table.
func (r *Report) Markdown(w io.Writer) {
	fmt.Fprintf(w, "berth bench, %s: %s; %s\n\n", r.Started.Format(time.RFC3339), r.Target, r.Host)
	fmt.Fprintln(w, "| workload | requests | rps | p50 ms | p99 ms | errors | × trivial | notes |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|---|--:|---|")
	for _, res := range r.Results {
		rate := fmt.Sprintf("%.0f", res.RPS)
		if res.Unit != "requests" {
			rate += " " + res.Unit + "/s"
		}
		ratio := "—"
		if res.Ratio > 0 {
			ratio = fmt.Sprintf("%.3f", res.Ratio)
		}
		notes := res.Notes
		if res.Stopped {
			notes = append([]string{"stopped at --max-duration"}, notes...)
		}
		if v := res.Extra["trivial_rps"]; v > 0 {
			notes = append(notes, fmt.Sprintf("trivial just before: %.0f rps", v))
		}
		fmt.Fprintf(w, "| %s | %d | %s | %.1f | %.1f | %s | %s | %s |\n", res.Workload, res.Requests, rate, res.P50MS, res.P99MS,
			formatErrors(res.Errors), ratio, strings.ReplaceAll(strings.Join(notes, "; "), "|", "/"))
	}
}

// loadAvg is the 1, 5 and 15 minute load average ("?" where unknown).
func loadAvg() string {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			return strings.Join(f[:3], " ")
		}
	}
	return "?"
}

// Run runs the benchmark. It returns the report of the workloads that ran,
// also when it fails part way (with the error).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now(), Config: cfg,
		Host: fmt.Sprintf("%d CPUs, GOMAXPROCS %d, load average %s at the start", runtime.NumCPU(), runtime.GOMAXPROCS(0), loadAvg())}
	var t *target
	if cfg.URL != "" {
		u, err := loopbackURL(cfg.URL)
		if err != nil {
			return nil, err
		}
		t = &target{urls: []string{u}, token: cfg.Token, desc: "berth at " + u, close: func() {}}
	} else {
		var err error
		if t, err = startTarget(ctx, &cfg); err != nil {
			return nil, err
		}
	}
	defer t.close()
	rep.Target = t.desc
	b := newBench(&cfg, t)
	err := b.run(ctx, rep)
	if err != nil && ctx.Err() == nil {
		for _, s := range t.servers {
			cfg.logf("%s", s.describe())
		}
	}
	rep.Host += ", " + loadAvg() + " at the end"
	return rep, err
}
