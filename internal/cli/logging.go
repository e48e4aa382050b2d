package cli

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/app"
)

// logFlags are the logging settings of serve, demo and migrate:
//
//	--log-format text|json   BERTH_LOG_FORMAT (default text)
//	--log-level LEVEL        BERTH_LOG_LEVEL: debug, info, warn or error
//	                         (default info; -v means debug)
//	--access-log             BERTH_ACCESS_LOG=1: one line per request
//
// They build the one *slog.Logger every part of berth logs through
// (app.Config.Log): the API, the console, the job queue and River, the
// HTTP server's own complaints.
type logFlags struct {
	format, level string
	access        *bool
	accessErr     error // a BERTH_ACCESS_LOG that is not a boolean
}

var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

func addLogFlags(fs *flag.FlagSet, cfg *app.Config) *logFlags {
	l := &logFlags{access: &cfg.AccessLog}
	fs.StringVar(&l.format, "log-format", envOr("BERTH_LOG_FORMAT", "text"), "log format: text or json (BERTH_LOG_FORMAT)")
	fs.StringVar(&l.level, "log-level", envOr("BERTH_LOG_LEVEL", "info"), "lowest level logged: debug, info, warn or error (BERTH_LOG_LEVEL; -v: debug)")
	access := false
	if v := os.Getenv("BERTH_ACCESS_LOG"); v != "" {
		if access, l.accessErr = strconv.ParseBool(v); l.accessErr != nil {
			l.accessErr = usageError{fmt.Sprintf("BERTH_ACCESS_LOG=%q: want 1 or 0 (true or false)", v)}
		}
	}
	fs.BoolVar(l.access, "access-log", access, "log one line per request: method, route, status, duration, bytes, client, request id (BERTH_ACCESS_LOG=1)")
	return l
}

// check refuses a format or level berth does not know, naming the valid
// ones (a usage error: exit 2).
func (l *logFlags) check() error {
	if l.accessErr != nil {
		return l.accessErr
	}
	if f := strings.ToLower(l.format); f != "text" && f != "json" {
		return usageError{fmt.Sprintf("log format %q (--log-format, BERTH_LOG_FORMAT): want text or json", l.format)}
	}
	if _, ok := logLevels[strings.ToLower(l.level)]; !ok {
		return usageError{fmt.Sprintf("log level %q (--log-level, BERTH_LOG_LEVEL): want debug, info, warn or error", l.level)}
	}
	return nil
}

// newLogger builds the logger writing to w; verbose forces debug.
func (l *logFlags) newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := logLevels[strings.ToLower(l.level)]
	if verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(l.format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Parse parses the command line, then checks the logging settings.
func (f *flagSet) Parse(args []string) error {
	if err := f.FlagSet.Parse(args); err != nil {
		return err
	}
	return f.logs.check()
}

// logger is the one logger of the command, writing to errOut.
func (f *flagSet) logger(errOut io.Writer) *slog.Logger {
	return f.logs.newLogger(errOut, *f.verbose)
}
