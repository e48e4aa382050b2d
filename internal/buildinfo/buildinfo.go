// Package buildinfo reads what the Go toolchain recorded about the running
// binary (module version, VCS revision and time, a modified tree, Go
// version) for `berth version` and the berth_build_info gauge.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

// Devel is the version of a binary built outside a tagged module (go run,
// go build in the work tree, tests).
const Devel = "(devel)"

// Unknown stands for a revision the binary does not record.
const Unknown = "unknown"

// Info describes the running binary. Version, Revision and GoVersion are
// never empty.
type Info struct {
	// Version is the main module's version, Devel when it has none.
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from, or Unknown.
	Revision string `json:"revision"`
	// Time is the commit's time; zero when unrecorded.
	Time time.Time `json:"time,omitzero"`
	// Modified is true when the work tree had uncommitted changes.
	Modified bool `json:"modified"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"goversion"`
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	return fromBuildInfo(bi, ok)
}

// fromBuildInfo fills an Info from what debug.ReadBuildInfo returned,
// with Devel, Unknown and runtime.Version() for what is missing.
func fromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	info := Info{Version: Devel, Revision: Unknown, GoVersion: runtime.Version()}
	if !ok || bi == nil {
		return info
	}
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				info.Revision = s.Value
			}
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				info.Time = t.UTC()
			}
		case "vcs.modified":
			info.Modified, _ = strconv.ParseBool(s.Value)
		}
	}
	return info
}
