package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/buildinfo"
)

func TestVersion(t *testing.T) {
	info := buildinfo.Read()
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		out, errOut, code := run(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "berth "+info.Version+"\n") ||
			!strings.Contains(out, "revision: "+info.Revision) || !strings.Contains(out, "go:       "+info.GoVersion) {
			t.Fatalf("%v: %d\n%s%s", args, code, out, errOut)
		}
	}
	out, errOut, code := run(t, nil, "--version", "-o", "json")
	var got buildinfo.Info
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got != info {
		t.Fatalf("-o json: %d %+v\n%s%s", code, got, out, errOut)
	}
	for _, args := range [][]string{{"version", "-o", "yaml"}, {"version", "now"}, {"version", "--bogus"}} {
		_, errOut, code := run(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "usage: berth version") {
			t.Fatalf("%v: code %d, want 2:\n%s", args, code, errOut)
		}
	}
}
