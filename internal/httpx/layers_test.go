package httpx

import (
	"os/exec"
	"strings"
	"testing"
)

// The import rules of docs/architecture.md, checked with go list: a request
// goes one way (handler → service → store/placement → job → provider), the
// placement core stays pure, and nothing imports upward. A change that
// breaks a rule fails here, naming the import.
func TestImportRules(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/berthhq/berth/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/berthhq/berth/"
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		for _, imp := range f[1:] {
			imports[pkg] = append(imports[pkg], strings.TrimPrefix(imp, mod))
		}
	}
	if len(imports) < 20 {
		t.Fatalf("go list found %d packages", len(imports))
	}
	io := []string{"database/sql", "net", "net/http", "os", "os/exec", "io/fs", "syscall"}
	internal := func(names ...string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = "internal/" + n
		}
		return out
	}
	rules := []struct {
		pkg    string
		forbid []string
		why    string
	}{
		{"internal/placement", append(internal("store", "alloc", "provider", "jobs", "metrics"), io...), "the placement core is pure: no I/O"},
		{"internal/replay", append(internal("store", "alloc", "provider", "jobs", "metrics", "fleet"), io...), "the replay is pure like the placement core it drives: the store reads the history for it"},
		{"internal/model", internal("store", "alloc", "placement", "provider", "api", "web"), "the domain types depend on nothing of berth"},
		{"internal/store", internal("alloc", "jobs", "api", "web", "app", "provider", "metrics", "telegram", "fleet"), "storage knows no service above it"},
		{"internal/alloc", append(internal("api", "web", "jobs", "app", "cli", "telegram", "auth", "httpx",
			"provider/scim", "provider/sftp", "provider/webhook", "provider/sim"), "net/http"), "the service knows no front end, no job runner, no provider implementation"},
		{"internal/alloc", internal("alloc/pooladmin", "alloc/codebook", "alloc/plans"), "the placement runtime knows nothing of the administration beside it: pooladmin, codebook and plans call it through their Runtime interfaces"},
		{"internal/alloc/plans", append(internal("api", "web", "jobs", "app", "cli", "telegram", "auth", "httpx", "alloc/pooladmin", "alloc/codebook",
			"provider", "provider/providers"), "net/http"), "plans know no front end, no job runner and no provider: they act through alloc's Runtime"},
		{"internal/alloc/pooladmin", append(internal("api", "web", "jobs", "app", "cli", "telegram", "auth", "httpx", "alloc/codebook",
			"provider/scim", "provider/sftp", "provider/webhook", "provider/sim"), "net/http"), "pool administration knows no front end, no job runner and no provider implementation (settings are validated through provider/providers)"},
		{"internal/alloc/codebook", append(internal("api", "web", "jobs", "app", "cli", "telegram", "auth", "httpx", "alloc/pooladmin",
			"provider", "provider/providers"), "net/http"), "code administration knows no front end, no job runner and no provider"},
		{"internal/api", internal("jobs", "app", "web", "telegram", "provider/scim", "provider/sftp", "provider/webhook", "provider/sim"), "handlers call the service, not jobs or providers"},
		{"internal/web", internal("jobs", "app", "api", "telegram", "reconcile", "provider/scim", "provider/sftp", "provider/webhook", "provider/sim"), "the console calls the service, not jobs or providers"},
		{"internal/metrics", internal("alloc", "api", "web", "jobs"), "instrumentation is imported by the service, not the other way"},
		{"internal/provider", internal("store", "alloc", "jobs", "api", "web"), "providers know nothing of berth's state"},
		{"internal/reconcile", internal("provider/webhook", "provider/scim", "provider/sftp", "api", "web"), "reconcile classifies provider errors by the provider package's classes"},
		{"internal/integrity", internal("alloc", "api", "web", "jobs"), "the checker reads the store; the service applies repairs"},
		{"internal/fleet", internal("alloc", "api", "web", "jobs", "app", "telegram", "metrics", "httpx"), "the fleet's read model reads the store; /metrics, the console and Telegram read it, not the other way"},
		{"internal/httpx", internal("api", "web", "app", "cli", "jobs", "telegram", "reconcile", "metrics", "provider",
			"provider/scim", "provider/sftp", "provider/webhook", "provider/sim"),
			"the layer both front ends share knows neither of them: it may use alloc's error kinds, auth, the limiter and the audit row type, nothing above"},
		{"internal/httpx/decode", internal("httpx", "alloc", "store", "auth", "api", "web", "upload"), "the body decoder is the standard library's alone: its fuzz target builds in seconds"},
		{"internal/upload", internal("alloc", "store", "model", "httpx", "api", "web", "app", "jobs", "metrics"), "the upload decoder knows no service nor front end: api hands its files to alloc"},
		{"internal/telegram/botapi", internal("telegram", "alloc", "store", "fleet", "integrity", "app", "jobs", "metrics"), "the Bot API client knows nothing of the bot and alerts above it"},
	}
	for _, r := range rules {
		if _, ok := imports[r.pkg]; !ok {
			t.Errorf("package %s not found by go list", r.pkg)
			continue
		}
		for _, imp := range imports[r.pkg] {
			for _, f := range r.forbid {
				if imp == f {
					t.Errorf("%s imports %s: %s", r.pkg, imp, r.why)
				}
			}
		}
	}
	// The decoders of outside input that CI fuzzes one by one (.ci/run)
	// depend on no database driver, job queue or metrics library: a fuzz run
	// builds everything its package imports with instrumentation, and those
	// make the first build a minute or more instead of seconds.
	light := []string{"internal/upload", "internal/httpx/decode", "internal/telegram/botapi", "internal/codes",
		"internal/provider/scim", "internal/provider/webhook"}
	for i := range light {
		light[i] = mod + light[i]
	}
	// Each package and its test binary, with all it depends on.
	deps, err := exec.Command(goBin, append([]string{"list", "-test", "-f", `{{.ImportPath}}|{{join .Deps " "}}`}, light...)...).Output()
	if err != nil {
		t.Fatalf("go list -test: %v", err)
	}
	heavy := []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/riverqueue/river", "github.com/prometheus/", mod + "internal/store", mod + "internal/alloc"}
	for _, line := range strings.Split(strings.TrimSpace(string(deps)), "\n") {
		pkg, all, _ := strings.Cut(line, "|")
	deps:
		for _, dep := range strings.Fields(all) {
			for _, h := range heavy {
				if strings.HasPrefix(dep, h) {
					t.Errorf("%s, a fuzzed decoder, depends on %s: keep it out of its imports", pkg, dep)
					break deps
				}
			}
		}
	}
	// Only the command and the composition roots import app and cli.
	for pkg, imps := range imports {
		for _, imp := range imps {
			if imp == "internal/cli" && pkg != "cmd/berth" {
				t.Errorf("%s imports internal/cli: only cmd/berth may", pkg)
			}
			if imp == "internal/app" && pkg != "internal/cli" && pkg != "internal/app/apptest" {
				t.Errorf("%s imports internal/app: only cli and apptest may", pkg)
			}
		}
	}
}
