package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
)

func run(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	code := Main(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestAccountsImportAndPools(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	h.Pool("worker-01", "server", 5, 0)
	dir := t.TempDir()
	for _, n := range []string{"639277333688.session", "639277333689.session", ".DS_Store"} {
		os.WriteFile(filepath.Join(dir, n), []byte("session "+n), 0o600)
	}
	env := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": apptest.Token}
	out, errOut, code := run(t, env, "accounts", "import", "--script", "A", dir)
	if code != 0 || !strings.Contains(out, "639277333688  placed") || !strings.Contains(out, "2 placed, 0 queued, 0 rejected") {
		t.Fatalf("import: code %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = run(t, env, "pools", "list")
	if code != 0 || !strings.Contains(out, "worker-01") || !strings.Contains(out, "2/5") {
		t.Fatalf("pools list: %d %s", code, out)
	}
	out, errOut, code = run(t, env, "pools", "status", "--ids", "1,99", "--status", "paused", "--message", "maint")
	if code != 1 || !strings.Contains(out, "1 changed, 1 failed") || !strings.Contains(out, "pool 99: pool not found") {
		t.Fatalf("pools status: %d %s %s", code, out, errOut)
	}
	out, _, code = run(t, env, "history", "--member", "639277333688")
	if code != 0 || !strings.Contains(out, "placed") {
		t.Fatalf("history: %d %s", code, out)
	}
}

func TestCLIErrorsSayWhatToFix(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		{nil, []string{"bogus"}, 2, `unknown command "bogus"`},
		{map[string]string{"BERTH_ADMIN_TOKEN": "x"}, []string{"accounts", "import", "f"}, 2, "--script is required"},
		{map[string]string{"BERTH_ADMIN_TOKEN": ""}, []string{"pools", "list"}, 2, "no admin token"},
		{map[string]string{"BERTH_ADMIN_TOKEN": "x", "BERTH_URL": "http://127.0.0.1:1"}, []string{"pools", "list"}, 1, "cannot reach berth"},
		{map[string]string{"BERTH_ADMIN_TOKEN": "x"}, []string{"accounts", "import", "--script", "A", "/does/not/exist"}, 1, "no such file"},
	}
	for _, c := range cases {
		_, errOut, code := run(t, c.env, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

func TestDemoPlaysTheScenarios(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := run(t, nil, "demo", "--exit", "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "demo.db"))
	if code != 0 {
		t.Fatalf("demo: %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"639277333606 → los-angeles",
		"639277333610 → manila",
		"639277333615 → queued       3 pools: 1 paused, 2 full",
		"15 of 15 accounts delivered",
		"admin token: berth_",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for i := 1; i <= 5; i++ {
		if !strings.Contains(out, "63927733360"+string(rune('0'+i))+" → worker-01") {
			t.Errorf("account %d not on worker-01", i)
		}
	}
	// The team part: codes, a redeem, the team banned, a free move off it.
	team := regexp.MustCompile(`(?s)teams: team-a, team-b.*codes: 2 generated.*alice@example\.com redeems \S+ → pending on (team-[ab])\n` +
		`  status: active on (team-[ab]), 0 of 1 paid moves used\n\n(team-[ab]) → banned.*a move now is free: true\n\n` +
		`alice@example\.com moves \(free: true\) → pending on (team-[ab]).*  status: active on (team-[ab]), 0 of 1 paid moves used\n`)
	m := team.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo output lacks the team part (codes, a redeem, a ban, a free move):\n%s", out)
	}
	if m[1] != m[2] || m[2] != m[3] || m[4] != m[5] || m[4] == m[3] {
		t.Errorf("team part: redeemed on %s, active on %s, banned %s, moved to %s, active on %s; want a move off the banned team", m[1], m[2], m[3], m[4], m[5])
	}
}

func TestMigrate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	out, errOut, code := run(t, map[string]string{"BERTH_SECRET_KEY": ""}, "migrate", "--db", db)
	// The newest version is the number of migrations there are.
	files, err := filepath.Glob("../store/migrations/sqlite/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	if want := fmt.Sprintf("schema version %d", len(files)); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
}

func TestCodesAndIntegrity(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	env := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": apptest.Token}
	out, errOut, code := run(t, env, "codes", "generate", "--count", "3", "--group", "vip", "--valid-for", "720h", "--prefix", "VIP")
	lines := strings.Fields(out)
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "VIP-") {
		t.Fatalf("generate: %d %q %s", code, out, errOut)
	}
	out, _, code = run(t, env, "codes", "disable", lines[0])
	if code != 0 || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %d %s", code, out)
	}
	out, _, code = run(t, env, "codes", "export")
	if code != 0 || !strings.HasPrefix(out, "code,group,status") || strings.Count(out, "\n") != 4 || !strings.Contains(out, lines[0]+",vip,disabled") {
		t.Fatalf("export: %d %s", code, out)
	}
	out, _, code = run(t, env, "integrity")
	if code != 0 || !strings.Contains(out, "orphans       0") {
		t.Fatalf("integrity: %d %s", code, out)
	}
}
