// Package crashpoint kills the process at named points, for the torture
// harness (internal/app/torture_test.go, docs/reliability.md).
//
// BERTH_CRASH_AT=name kills the process with SIGKILL the first time Hit(name)
// runs; BERTH_CRASH_AT=name:N kills it at the Nth hit. Nothing deferred runs,
// no transaction commits, no buffer is flushed: the same as a power cut at
// that line. When the variable is unset, Hit is one load and a comparison.
//
// Only a binary built with the build tag crashpoints (`go build -tags
// crashpoints`, as the process tests build berth) reads BERTH_CRASH_AT: a
// release build ignores it, so no setting can make a production process kill
// itself.
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Env names the variable read at start.
const Env = "BERTH_CRASH_AT"

// Points lists every crash point in the code, for the harness and the docs.
var Points = []string{
	"deliver.before-put",
	"deliver.after-put",
	"remove.before-remove",
	"remove.after-remove",
	"place.after-reserve",
	"place.before-commit",
	"delivered.after-start-release",
	"rebind.after-rate-take",
	"move.after-create",
	"drainqueue.before-commit",
	"deliveryfailed.before-commit",
	"import.after-store-chunk",
}

var (
	target string // "" when disarmed
	nth    int64  = 1
	hits   atomic.Int64
)

// Enabled reports whether this binary was built with the crashpoints tag and
// so reads BERTH_CRASH_AT.
const Enabled = enabled

func init() {
	if enabled {
		parse(os.Getenv(Env))
	}
}

func parse(v string) {
	target, nth = v, 1
	hits.Store(0)
	if name, n, ok := strings.Cut(v, ":"); ok {
		if k, err := strconv.ParseInt(n, 10, 64); err == nil && k > 0 {
			target, nth = name, k
		}
	}
}

// Hit kills the process if BERTH_CRASH_AT names this point and this is the
// chosen hit; otherwise it does nothing.
func Hit(name string) {
	if target == "" || name != target {
		return
	}
	if hits.Add(1) == nth {
		die()
	}
}

var die = func() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is not delivered synchronously everywhere: never go on
}
