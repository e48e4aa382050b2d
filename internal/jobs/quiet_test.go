package jobs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// River's lines reach berth's log from warning up, and its lines about a
// failed job (at info since River v0.33) at the levels of River v0.31:
// a retry a warning, a discard or panic an error. Attributes and groups
// added with With keep the filter.
func TestQuietRiverLog(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelError} {
		var buf bytes.Buffer
		l := quiet(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))).With("service", "river")
		ctx := context.Background()
		l.InfoContext(ctx, "producer: Run loop started")
		l.DebugContext(ctx, "jobexecutor.JobExecutor: Job snoozed")
		l.InfoContext(ctx, "jobexecutor.JobExecutor: Job errored; retrying", "job_kind", "sweep")
		l.InfoContext(ctx, "jobexecutor.JobExecutor: Job errored", "job_kind", "probe")
		l.InfoContext(ctx, "jobexecutor.JobExecutor: Job panicked", "job_kind", "expire")
		l.WarnContext(ctx, "elector: leadership lost")
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			_, rest, _ := strings.Cut(line, " level=")
			lvl, rest, _ := strings.Cut(rest, " ")
			msg, _, _ := strings.Cut(strings.TrimPrefix(rest, `msg="`), `"`)
			got = append(got, fmt.Sprintf("%s %s %t", lvl, msg, strings.Contains(line, "service=river")))
		}
		want := []string{
			"WARN jobexecutor.JobExecutor: Job errored; retrying true",
			"ERROR jobexecutor.JobExecutor: Job errored true",
			"ERROR jobexecutor.JobExecutor: Job panicked true",
			"WARN elector: leadership lost true",
		}
		if level == slog.LevelError {
			want = []string{"ERROR jobexecutor.JobExecutor: Job errored true", "ERROR jobexecutor.JobExecutor: Job panicked true"}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("handler at %s logged:\n%s\nwant:\n%s", level, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
