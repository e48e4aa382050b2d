package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/berthhq/berth/internal/buildinfo"
)

const versionUsage = "version [-o json]: the build's version, revision and Go version (also --version)"

// outputFlag adds -o to fs: text (default) or json.
func outputFlag(fs *flag.FlagSet) *string {
	return fs.String("o", "text", "output format: text or json")
}

// parseOutputFlags parses args into fs (which has -o, outputFlag),
// refusing arguments after the flags and an -o other than text or json.
// Flag mistakes are usage errors (exit 2); -h stays flag.ErrHelp (exit 0).
func parseOutputFlags(fs *flag.FlagSet, args []string, format *string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *format != "text" && *format != "json" {
		return usageError{fmt.Sprintf("-o %q: want text or json", *format)}
	}
	return nil
}

// writeJSON writes v indented, with a final newline.
func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runVersion(_ context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("version", errOut)
	format := outputFlag(fs)
	if err := parseOutputFlags(fs, args, format); err != nil {
		return err
	}
	info := buildinfo.Read()
	if *format == "json" {
		return writeJSON(out, info)
	}
	fmt.Fprintf(out, "berth %s\n", info.Version)
	rev := info.Revision
	if info.Modified {
		rev += " (modified)"
	}
	fmt.Fprintf(out, "revision: %s\n", rev)
	when := buildinfo.Unknown
	if !info.Time.IsZero() {
		when = info.Time.Format(time.RFC3339)
	}
	fmt.Fprintf(out, "time:     %s\n", when)
	fmt.Fprintf(out, "go:       %s\n", info.GoVersion)
	return nil
}
