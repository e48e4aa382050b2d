// Package cli implements the berth command line: serve, demo, migrate and
// the admin verbs, which talk to a running berth over its HTTP API.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, out, errOut io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the server (--listen ADDR --db DSN; every setting: docs/configuration.md)", runServe},
		{"demo", "run a server on SQLite with a simulated fleet and a sample batch", runDemo},
		{"migrate", migrateUsage, runMigrateVerb},
		{"keys", keysUsage, runKeys},
		{"backup", backupUsage, runBackup},
		{"accounts", "accounts import --script S [--label k=v]… [-o json] FILES|DIR: upload credential files (exit 1 when any is rejected)", runAccounts},
		{"pools", "pools list [-o json] | pools create --name N --kind K --capacity C [--provider-type T --provider-setting k=v|k=@FILE…] | pools edit ID [--capacity C …] | pools status --ids 1,2 --status S [--message M] | pools drain ID", runPools},
		{"users", usersUsage, runUsers},
		{"tokens", tokensUsage, runTokens},
		{"history", "history [--member ID] [--pool NAME] [-o json]: show history", runHistory},
		{"codes", "codes generate --count N [--group G --valid-for 30d …] | codes list [-o json] (every code, all pages, unless --limit N) | codes export (CSV, every code unless --limit N) | codes disable|enable CODE", runCodes},
		{"replay", replayUsage, runReplay},
		{"integrity", "integrity [--repair N] [-o json]: check the invariants (exit 1 when broken)", runIntegrity},
		{"plans", plansUsage, runPlans},
		{"placement", placementUsage, runPlacement},
		{"bench", "bench [--db postgres://… --replicas N | --url U] [--only W,…] [--json FILE]: load benchmark over HTTP", runBench},
		{"version", versionUsage, runVersion},
		{"healthcheck", healthcheckUsage, runHealthcheck},
	}
}

// verbGroups are the commands whose first argument is a verb (pools list):
// their -h is answered before the verb is looked for.
var verbGroups = map[string]bool{"accounts": true, "pools": true, "codes": true, "keys": true, "users": true, "tokens": true, "plans": true, "placement": true}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// usageError is a mistake in the command line; it prints usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Main runs berth with args and returns the exit code.
func Main(args []string, out, errOut io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) {
		usage(errOut)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands() {
		if c.name == args[0] {
			if len(args) > 1 && isHelp(args[1]) && verbGroups[c.name] {
				// berth pools -h: no verb to parse flags for, so no client and no token.
				fmt.Fprintf(errOut, "usage: berth %s — %s\n\n%s VERB -h lists a verb's flags.\n", c.name, c.usage, "berth "+c.name)
				return 0
			}
			err := c.run(ctx, args[1:], out, errOut)
			if err == nil {
				return 0
			}
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(errOut, "berth "+c.name+": "+err.Error())
			var ue usageError
			if errors.As(err, &ue) {
				fmt.Fprintln(errOut, "usage: berth "+c.name+" — "+c.usage)
				return 2
			}
			return 1
		}
	}
	fmt.Fprintf(errOut, "berth: unknown command %q\n", args[0])
	usage(errOut)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "berth — places members into pools of limited capacity\n\nusage: berth COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nAdmin verbs read BERTH_URL (default http://127.0.0.1:8080) and BERTH_ADMIN_TOKEN; listings print a table, or the API's JSON with -o json.")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newFlags(name string, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("berth "+name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	return fs
}
