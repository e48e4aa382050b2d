package processtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestMain removes the berth binary the process tests built (buildBerth).
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the berth binary of this test process: built once, on first use,
// and shared by every test that runs berth as a child process (crash,
// torture, storm), so the package links it once instead of once a test.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
	skip     string
}

// buildBerth returns the path of a berth binary built from this module
// (BERTH_TEST_BIN names a ready one instead).
func buildBerth(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("BERTH_TEST_BIN"); bin != "" {
		return bin
	}
	built.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			built.skip = "the go command is not on PATH"
			return
		}
		out, err := exec.Command(goBin, "env", "GOMOD").Output()
		gomod := strings.TrimSpace(string(out))
		if err != nil || gomod == "" || gomod == os.DevNull {
			built.err = fmt.Errorf("go env GOMOD: %q %v", gomod, err)
			return
		}
		if built.dir, err = os.MkdirTemp("", "berth-test-bin-"); err != nil {
			built.err = err
			return
		}
		bin := filepath.Join(built.dir, "berth")
		// The crash points are armed only in a build with this tag.
		cmd := exec.Command(goBin, "build", "-tags", "crashpoints", "-o", bin, "./cmd/berth")
		cmd.Dir = filepath.Dir(gomod)
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.skip != "" {
		t.Skip(built.skip)
	}
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}
