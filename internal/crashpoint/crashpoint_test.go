package crashpoint

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestHit(t *testing.T) {
	died := 0
	old := die
	die = func() { died++ }
	t.Cleanup(func() { die = old; parse("") })

	parse("")
	Hit("deliver.before-put")
	if died != 0 {
		t.Fatal("disarmed Hit killed")
	}
	parse("deliver.before-put")
	Hit("deliver.after-put")
	Hit("deliver.before-put")
	if died != 1 {
		t.Fatalf("armed Hit: %d deaths, want 1", died)
	}
	parse("place.after-reserve:3")
	Hit("place.after-reserve")
	Hit("place.after-reserve")
	if died != 1 {
		t.Fatal("killed before the 3rd hit")
	}
	Hit("place.after-reserve")
	Hit("place.after-reserve")
	if died != 2 {
		t.Fatalf("3rd hit: %d deaths, want 2", died)
	}
}

// TestEnvArmsOnlyWithTag: BERTH_CRASH_AT arms a crash point in a binary built
// with the crashpoints tag and is ignored in any other build. The test runs
// itself again with the variable set, since it is read at start.
func TestEnvArmsOnlyWithTag(t *testing.T) {
	if os.Getenv("CRASHPOINT_CHILD") != "" {
		if target != "" {
			os.Stdout.WriteString("armed:" + target)
		} else {
			os.Stdout.WriteString("disarmed")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnvArmsOnlyWithTag$")
	cmd.Env = append(os.Environ(), "CRASHPOINT_CHILD=1", Env+"=deliver.before-put")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := "disarmed"
	if Enabled {
		want = "armed:deliver.before-put"
	}
	if !strings.Contains(string(out), want) {
		t.Fatalf("built with crashpoints=%v: child says %q, want %q", Enabled, out, want)
	}
}
