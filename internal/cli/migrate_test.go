package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// migrateTo migrates the database at dsn fully, then leaves berth_schema
// at version (as an older berth would have left it); once it is below the
// last, the database cannot be migrated again.
func migrateTo(t *testing.T, dsn string, version int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, storetest.Box(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.DB.ExecContext(ctx, `DELETE FROM berth_schema WHERE version > $1`, version); err != nil {
		t.Fatal(err)
	}
}

// statusJSON runs migrate --status -o json and decodes it.
func statusJSON(t *testing.T, dsn string) (rep struct {
	Dialect    string
	Embedded   int
	Applied    int
	Migrations []store.MigrationState
}) {
	t.Helper()
	out, errOut, code := run(t, nil, "migrate", "--status", "--db", dsn, "-o", "json")
	if code != 0 {
		t.Fatalf("migrate --status -o json: %d %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	return rep
}

func TestMigrateStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dsn := storetest.DSN(t, d)
		if d == store.SQLite {
			_, errOut, code := run(t, nil, "migrate", "--status", "--db", dsn)
			if code != 1 || !strings.Contains(errOut, "no SQLite database at "+dsn) {
				t.Fatalf("missing file: %d %s", code, errOut)
			}
			if _, err := os.Stat(dsn); err == nil {
				t.Fatal("migrate --status created the database")
			}
			os.WriteFile(dsn, nil, 0o600)
		}
		// Fresh: every migration pending.
		rep := statusJSON(t, dsn)
		if rep.Dialect != string(d) || rep.Embedded < 6 || rep.Applied != 0 || len(rep.Migrations) != rep.Embedded {
			t.Fatalf("fresh: %+v", rep)
		}
		n := rep.Embedded

		// Fully migrated.
		migrateTo(t, dsn, n)
		if rep := statusJSON(t, dsn); rep.Applied != n || !rep.Migrations[n-1].Applied {
			t.Fatalf("migrated: %+v", rep)
		}

		// Partly migrated: the first three applied.
		migrateTo(t, dsn, 3)
		out, errOut, code := run(t, nil, "migrate", "--status", "--db", dsn)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("3 of %d migrations applied", n)) ||
			!regexp.MustCompile(`(?m)^  003  applied  003_auth\.sql +20\d\d-\d\d-\d\dT`).MatchString(out) ||
			!strings.Contains(out, "  004  pending  004_login_throttle.sql\n") {
			t.Fatalf("partly migrated: %d\n%s%s", code, out, errOut)
		}
		if rep := statusJSON(t, dsn); rep.Applied != 3 || !rep.Migrations[2].Applied || rep.Migrations[2].AppliedAt == nil ||
			rep.Migrations[3].Applied || rep.Migrations[3].AppliedAt != nil {
			t.Fatalf("partly migrated, JSON: %+v", rep)
		}
	})
}

func TestMigrateUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "-o", "json"}, "-o goes with --status"},
		{[]string{"migrate", "--status", "-o", "yaml"}, `-o "yaml": want text or json`},
		{[]string{"migrate", "--status", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"migrate", "--status", "extra"}, `unexpected argument "extra"`},
	} {
		_, errOut, code := run(t, nil, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "usage: berth migrate") {
			t.Errorf("%v: code %d, want 2 and %q:\n%s", c.args, code, c.want, errOut)
		}
	}
}
