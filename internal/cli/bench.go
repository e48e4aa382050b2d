package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berthhq/berth/internal/loadbench"
)

const benchHelp = `usage: berth bench [flags]

A load benchmark of berth over HTTP. By default it starts its own berth
server(s) (SERVER-BIN serve) on a fresh database, seeds pools and codes
through the admin API, and measures, in this order:

  trivial       a handler answering 200 "ok", served by the benchmark itself
                (--users requests): the yardstick of the ratio column,
                measured again just before each workload for its ratio
  redeem-valid  --users users redeem a fresh code each onto --teams teams
  redeem-wrong  --wrong redeems of well-formed codes that do not exist (403)
  redeem-mixed  --mixed-users fresh users redeem while --mixed-wrong-clients
                clients send wrong codes as fast as they can (two rows)
  rebind-storm  --ban-teams teams holding redeem-valid's users are banned, and
                every user on them asks to move at once; also reports how long
                until all are active on a healthy team
  import        --accounts credential files in batches onto --servers servers
                (its rate counts accounts; latencies are per batch)

Public requests come from one loopback address per simulated user
(127.x.y.z), each on a fresh connection, so the per-address limit throttles
nobody. Each workload stops after --max-duration even if unfinished. Only
IPv4 loopback is ever contacted. With --url the benchmark seeds pools,
codes and accounts into that berth: use a disposable instance.

Prints a Markdown table (rps, p50, p99, non-2xx answers by status, ratio of
rps to the trivial handler's); progress goes to stderr.

flags:
`

// runBench runs the load benchmark (package loadbench).
func runBench(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("bench", errOut)
	cfg := loadbench.DefaultConfig()
	fs.StringVar(&cfg.ServerBin, "server-bin", "", "berth binary to start as the server (default: this binary)")
	fs.StringVar(&cfg.DB, "db", "", "empty: a fresh SQLite file in a temp dir; postgres://…: a fresh database berth_bench_<random> on that server, dropped at the end")
	fs.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "servers started on the same database (PostgreSQL only); public clients are spread over them round-robin")
	fs.StringVar(&cfg.URL, "url", "", "target a berth already running at this loopback URL instead of starting one")
	fs.StringVar(&cfg.Token, "token", "", "with --url: its admin token (default: BERTH_ADMIN_TOKEN)")
	only := fs.String("only", "", "comma-separated workloads to run (default: all): "+strings.Join(loadbench.Workloads, ","))
	durationVar(fs, &cfg.MaxDuration, "max-duration", "each workload stops handing out requests after this long")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	scale := fs.Float64("scale", 1, "multiply every count (users, teams, wrong, mixed-users, ban-teams, accounts, servers) by this")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent public clients (trivial, redeems, rebind storm)")
	fs.IntVar(&cfg.Users, "users", cfg.Users, "redeem-valid: users, one fresh code each (also trivial's request count)")
	fs.IntVar(&cfg.Teams, "teams", cfg.Teams, "redeem-valid: teams seeded")
	fs.IntVar(&cfg.TeamCapacity, "team-capacity", cfg.TeamCapacity, "seats per team")
	fs.IntVar(&cfg.Wrong, "wrong", cfg.Wrong, "redeem-wrong: requests with unknown codes")
	fs.IntVar(&cfg.MixedUsers, "mixed-users", cfg.MixedUsers, "redeem-mixed: fresh users redeeming (teams for them are added first)")
	fs.IntVar(&cfg.MixedWrongClients, "mixed-wrong-clients", cfg.MixedWrongClients, "redeem-mixed: clients sending wrong codes meanwhile")
	fs.IntVar(&cfg.BanTeams, "ban-teams", cfg.BanTeams, "rebind-storm: teams banned (their users all move)")
	fs.IntVar(&cfg.Accounts, "accounts", cfg.Accounts, "import: credential files")
	fs.IntVar(&cfg.Servers, "servers", cfg.Servers, "import: server pools")
	fs.IntVar(&cfg.ServerCapacity, "server-capacity", cfg.ServerCapacity, "import: accounts per server")
	fs.IntVar(&cfg.BatchSize, "batch", cfg.BatchSize, "import: files per request")
	fs.IntVar(&cfg.ImportClients, "import-clients", cfg.ImportClients, "import: requests in parallel")
	fs.IntVar(&cfg.FileSize, "file-size", cfg.FileSize, "import: bytes per credential file (random)")
	fs.Usage = func() {
		fmt.Fprint(errOut, benchHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if *only != "" {
		for _, n := range strings.Split(*only, ",") {
			if n = strings.TrimSpace(n); n != "" {
				cfg.Only = append(cfg.Only, n)
			}
		}
	}
	if *scale <= 0 {
		return usageError{"--scale must be positive"}
	}
	if *scale != 1 {
		cfg.Scale(*scale)
	}
	if cfg.URL != "" && cfg.Token == "" {
		var err error
		if cfg.Token, err = envSecret("BERTH_ADMIN_TOKEN"); err != nil {
			return err
		}
	}
	if cfg.URL == "" && cfg.ServerBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this binary (pass --server-bin): %w", err)
		}
		cfg.ServerBin = exe
	}
	cfg.Log = errOut
	rep, err := loadbench.Run(ctx, cfg)
	if rep != nil && len(rep.Results) > 0 {
		rep.Markdown(out)
		if *jsonOut != "" {
			data, jerr := json.MarshalIndent(rep, "", "  ")
			if jerr == nil {
				jerr = os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
			}
			if jerr != nil && err == nil {
				err = fmt.Errorf("writing %s: %w", *jsonOut, jerr)
			}
		}
	}
	return err
}
