package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/replay"
	"github.com/berthhq/berth/internal/store"
)

const replayUsage = "replay --strategy pack|spread [--since T] [--db DSN] [-o json]: replay the recorded history under a strategy and compare it with what happened"

// replayReport is what `berth replay -o json` prints.
type replayReport struct {
	Database string         `json:"database"`
	Since    *time.Time     `json:"since,omitempty"`
	Events   int            `json:"events"`
	Pools    int            `json:"pools"`
	Members  int            `json:"members"`
	Actual   replay.Metrics `json:"actual"`
	Replay   replay.Metrics `json:"replay"`
	Elapsed  float64        `json:"elapsed_seconds"`
}

// runReplay reads the history of a database (read only, without the
// server: store.ReplayInput), replays it in memory under --strategy
// (package replay) and prints both columns.
func runReplay(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("replay", errOut)
	strategy := fs.String("strategy", "", "the strategy to replay under: pack or spread (required)")
	sinceFlag := fs.String("since", "", "start of the measured window: a time (2026-01-02T15:04:05Z), a date (2026-01-02) or a duration back from now (7d, 12h); earlier history is the warm-up, as recorded")
	db := fs.String("db", envOr("BERTH_DB", "berth.db"), "database: a file path, sqlite:PATH or postgres://…")
	format := listOutputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *strategy == "" {
		return usageError{"--strategy is required: pack or spread"}
	}
	st, err := placement.ParseStrategy(*strategy)
	if err != nil {
		return usageError{err.Error()}
	}
	since, err := parseSince(*sinceFlag, time.Now())
	if err != nil {
		return usageError{err.Error()}
	}
	s, err := store.OpenUnmigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	began := time.Now()
	in, err := s.Reader().ReplayInput(ctx, since)
	if err != nil {
		return err
	}
	rep := replayReport{Database: string(s.Dialect), Events: len(in.Events), Pools: len(in.Pools), Members: len(in.Members),
		Actual: replay.Actual(in), Replay: replay.Run(in, st)}
	rep.Elapsed = time.Since(began).Seconds()
	if !since.IsZero() {
		rep.Since = &since
	}
	if *format == "json" {
		return writeJSON(out, rep)
	}
	printReplay(out, rep)
	return nil
}

// parseSince reads --since: empty (all the history), an RFC 3339 time, a
// date (midnight UTC) or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	d, err := model.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("--since %q: want a time (2026-01-02T15:04:05Z), a date (2026-01-02) or a duration back from now (7d, 12h)", s)
	}
	return now.Add(-d).UTC(), nil
}

func printReplay(out io.Writer, r replayReport) {
	a, b := r.Actual, r.Replay
	window := "the whole history"
	if r.Since != nil {
		window = "since " + r.Since.Format(time.RFC3339)
	}
	fmt.Fprintf(out, "replay of %d events (%d pools, %d members) from the %s database, %s: %s → %s\n\n",
		r.Events, r.Pools, r.Members, r.Database, window, a.Start.Format(time.RFC3339), a.End.Format(time.RFC3339))
	rows := [][3]string{
		{"", "actual", "replay (" + b.Strategy + ")"},
		{"arrivals", fmt.Sprint(a.Arrivals), fmt.Sprint(b.Arrivals)},
		{"placed", fmt.Sprint(a.Placed), fmt.Sprint(b.Placed)},
		{"still queued", fmt.Sprint(a.StillQueued), fmt.Sprint(b.StillQueued)},
		{"pools used", fmt.Sprint(a.PoolsUsed), fmt.Sprint(b.PoolsUsed)},
		{"peak pools in use", fmt.Sprint(a.PeakPoolsInUse), fmt.Sprint(b.PeakPoolsInUse)},
		{"peak utilization", replayPercent(a.PeakUtilization), replayPercent(b.PeakUtilization)},
		{"mean utilization", replayPercent(a.MeanUtilization), replayPercent(b.MeanUtilization)},
		{"queue wait p50", replayWait(a.WaitP50), replayWait(b.WaitP50)},
		{"queue wait p95", replayWait(a.WaitP95), replayWait(b.WaitP95)},
		{"queue wait max", replayWait(a.WaitMax), replayWait(b.WaitMax)},
		{"moved (pool failed)", fmt.Sprint(a.Moved), fmt.Sprint(b.Moved)},
		{"moved (pool drained)", fmt.Sprint(a.Drained), fmt.Sprint(b.Drained)},
	}
	for _, row := range rows {
		fmt.Fprintln(out, strings.TrimRight(fmt.Sprintf("  %-22s %14s  %14s", row[0], row[1], row[2]), " "))
	}
	fmt.Fprintf(out, "\nreplayed in %.2fs; utilization is of the pools holding a member, averaged over time (docs/operations.md, \"Replay\")\n", r.Elapsed)
}

func replayPercent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func replayWait(sec float64) string {
	return time.Duration(sec * float64(time.Second)).Round(time.Millisecond).String()
}
