package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/store"
)

const migrateUsage = "migrate [--db DSN]: apply database migrations and exit | migrate --status [--db DSN] [-o json]: list them applied or pending"

// runMigrateVerb runs `berth migrate --status` here and `berth migrate`
// (runMigrate, serve.go) otherwise.
func runMigrateVerb(ctx context.Context, args []string, out, errOut io.Writer) error {
	status, output := false, false
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") {
			status = status || name == "status"
			output = output || name == "o"
		}
	}
	if !status {
		if output {
			return usageError{"-o goes with --status: berth migrate --status -o json"}
		}
		return runMigrate(ctx, args, out, errOut)
	}
	return runMigrateStatus(ctx, args, out, errOut)
}

// runMigrateStatus prints each embedded migration applied or pending, and
// when it was applied where the database records it, without applying any
// (store.MigrationStatus).
func runMigrateStatus(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("migrate", errOut)
	fs.Bool("status", false, "list the migrations applied or pending instead of applying them")
	db := fs.String("db", envOr("BERTH_DB", "berth.db"), "database: a file path, sqlite:PATH or postgres://…")
	format := outputFlag(fs)
	if err := parseOutputFlags(fs, args, format); err != nil {
		return err
	}
	st, err := store.OpenUnmigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	applied := 0
	for _, m := range list {
		if m.Applied {
			applied++
		}
	}
	if *format == "json" {
		return writeJSON(out, struct {
			Dialect    string                 `json:"dialect"`
			Embedded   int                    `json:"embedded"`
			Applied    int                    `json:"applied"`
			Migrations []store.MigrationState `json:"migrations"`
		}{string(st.Dialect), st.SchemaVersion(), applied, list})
	}
	fmt.Fprintf(out, "database %s: %d of %d migrations applied\n", st.Dialect, applied, len(list))
	for _, m := range list {
		state, name := "pending", m.Name
		if m.Applied {
			state = "applied"
		}
		if name == "" {
			name = "(unknown to this berth: upgrade it)"
		}
		when := ""
		if m.AppliedAt != nil {
			when = m.AppliedAt.Format(time.RFC3339)
		}
		fmt.Fprintln(out, strings.TrimRight(fmt.Sprintf("  %03d  %-7s  %-26s  %s", m.Version, state, name, when), " "))
	}
	return nil
}
