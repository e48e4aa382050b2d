package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// Without build information (go run of a file, some test binaries) Read
// says Devel and Unknown instead of failing.
func TestMissing(t *testing.T) {
	got := fromBuildInfo(nil, false)
	want := Info{Version: Devel, Revision: Unknown, GoVersion: runtime.Version()}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestFromSettings(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Main:      debug.Module{Path: "github.com/berthhq/berth", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "c3fe7a0abc"},
			{Key: "vcs.time", Value: "2026-12-04T16:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := fromBuildInfo(bi, true)
	want := Info{Version: "v1.2.3", Revision: "c3fe7a0abc", Time: time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC), Modified: true, GoVersion: "go1.99.1"}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// An empty main version (go build in the work tree before Go 1.24)
	// stays Devel.
	bi.Main.Version = ""
	if got := fromBuildInfo(bi, true); got.Version != Devel {
		t.Fatalf("empty version: got %q", got.Version)
	}
}

// The test binary has build information; Read fills every field it
// promises.
func TestRead(t *testing.T) {
	got := Read()
	if got.Version == "" || got.Revision == "" || got.GoVersion == "" {
		t.Fatalf("empty field in %+v", got)
	}
}
