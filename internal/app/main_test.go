package app_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs this package's end-to-end tests four at a time unless
// -parallel says otherwise. They spend most of their time waiting (for a
// job's next poll, a retry's back-off, a provider that is down on purpose):
// measured, one such test used a third of a core while it ran. Go's default
// (-parallel = GOMAXPROCS, 2 on a 2-core machine) left the cores idle.
// Tests that read process-wide counters (metrics) or time the server
// (httpserver, logging) do not call t.Parallel and run alone first.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "4")
	}
	os.Exit(m.Run())
}
