package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
)

// TestPlacementSettingsAndLabels: placement set|settings store and show
// the strategy; pools create --weight; accounts import --label places
// only on servers carrying the label; codes generate --label.
func TestPlacementSettingsAndLabels(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	env := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": apptest.Token}
	out, errOut, code := run(t, env, "placement", "set", "--kind", "server", "--strategy", "spread")
	if code != 0 || !strings.Contains(out, "spread") || !strings.Contains(out, "(all)") {
		t.Fatalf("placement set: %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = run(t, env, "placement", "settings", "-o", "json")
	var res struct{ Default string }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Default != "pack" || !strings.Contains(out, `"spread"`) {
		t.Fatalf("placement settings: %d\n%s", code, out)
	}
	if _, errOut, code := run(t, env, "placement", "set", "--kind", "server", "--strategy", "sideways"); code != 1 || !strings.Contains(errOut, "sideways") {
		t.Fatalf("unknown strategy: %d %s", code, errOut)
	}
	if _, errOut, code := run(t, env, "placement", "set", "--strategy", "pack"); code != 2 || !strings.Contains(errOut, "--kind") {
		t.Fatalf("no kind: %d %s", code, errOut)
	}

	out, errOut, code = run(t, env, "pools", "create", "--name", "eu-1", "--kind", "server", "--capacity", "3", "--weight", "2",
		"--label", "region=eu", "--provider-type", "sim", "-o", "json")
	var pool struct{ Weight int }
	if code != 0 || json.Unmarshal([]byte(out), &pool) != nil || pool.Weight != 2 {
		t.Fatalf("pools create --weight: %d\n%s\n%s", code, out, errOut)
	}
	run(t, env, "pools", "create", "--name", "us-1", "--kind", "server", "--capacity", "3", "--label", "region=us", "--provider-type", "sim")
	dir := t.TempDir()
	for _, n := range []string{"a1", "a2"} {
		os.WriteFile(filepath.Join(dir, n+".session"), []byte("x"), 0o600)
	}
	out, errOut, code = run(t, env, "accounts", "import", "--script", "S", "--label", "region=eu", "-o", "json", dir)
	var batch struct{ Items []struct{ Pool string } }
	if code != 0 || json.Unmarshal([]byte(out), &batch) != nil || len(batch.Items) != 2 || batch.Items[0].Pool != "eu-1" || batch.Items[1].Pool != "eu-1" {
		t.Fatalf("accounts import --label: %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, env, "codes", "generate", "--count", "1", "--group", "vip", "--label", "region=eu")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("codes generate --label: %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := run(t, env, "codes", "generate", "--count", "1", "--label", "region"); code != 2 || !strings.Contains(errOut, "key=value") {
		t.Fatalf("codes generate --label without =: %d %s", code, errOut)
	}
}
