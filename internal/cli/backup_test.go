package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/secret"
	"github.com/berthhq/berth/internal/store"
)

// memberIDs is every member's external id in st.
func memberIDs(t *testing.T, st *store.Store) map[string]bool {
	t.Helper()
	rows, err := st.Read.QueryContext(context.Background(), `SELECT kind || ':' || external_id FROM members`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// berth backup copies a serving database while imports and redeems run;
// a fresh berth opens the copy with the same key, finds its invariants
// whole and every member counted before the backup began; another key is
// refused (the key is not in the copy).
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, store.SQLite)
	h.Pool("worker-01", "server", 1000, 0)
	h.Pool("team-1", "team", 1000, 0)
	var gen struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 200}).MustStatus(t, 201).JSON(t, &gen)
	h.Import("A", apptest.Files("seed", 0, 10))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var imports, redeems atomic.Int64
	post := func(path, ctype string, body []byte) (int, error) {
		req, _ := http.NewRequest("POST", h.App.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+apptest.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	wg.Add(2)
	go func() { // imports, 3 accounts a batch
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ct, body := apptest.Multipart(map[string]string{"script": "A"}, apptest.Files(fmt.Sprintf("load%d-", i), 0, 3))
			if st, err := post("/api/v1/accounts/batch", ct, body); err == nil && st == 200 {
				imports.Add(1)
			}
		}
	}()
	go func() { // redeems, one code each
		defer wg.Done()
		for i, code := range gen.Codes {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf(`{"email": "user%d@example.com", "code": %q}`, i, code)
			if st, err := post("/api/v1/public/redeem", "application/json", []byte(body)); err == nil && st == 200 {
				redeems.Add(1)
			}
		}
	}()
	apptest.Eventually(t, 30*time.Second, "load running", func() bool { return imports.Load() >= 2 && redeems.Load() >= 2 })

	before := memberIDs(t, h.App.Store)
	file := filepath.Join(t.TempDir(), "copy.db")
	var out, errOut bytes.Buffer
	code := Main([]string{"backup", "--url", h.App.URL, "--token", apptest.Token, "--db", h.DSN, file}, &out, &errOut)
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(out.String(), "backup written to "+file) || !strings.Contains(errOut.String(), "key") {
		t.Fatalf("backup: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the copy: %v %v", fi, err)
	}
	if _, err := os.Stat(file + ".partial"); !os.IsNotExist(err) {
		t.Fatalf("the partial file is left: %v", err)
	}
	// A second backup to the same FILE is refused, the first left alone.
	if code := Main([]string{"backup", "--url", h.App.URL, "--token", apptest.Token, file}, &out, &errOut); code != 1 {
		t.Fatalf("backup over an existing file: exit %d", code)
	}
	t.Logf("%d members before the backup, %d import batches and %d redeems during the load", len(before), imports.Load(), redeems.Load())

	// Another key does not open the copy: its data is sealed.
	other, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if h2, err := apptest.StartKeyed(t, file, func(c *app.Config) { c.Sealer = other }); err == nil {
		h2.App.Close(context.Background())
		t.Fatal("the copy opened under another key")
	}

	restored := apptest.StartOn(t, file)
	var rep struct {
		Orphans, Overbooked, Drift []any
		ZombieMoves                []any `json:"zombie_moves"`
	}
	res := restored.Do("GET", "/api/v1/integrity", nil).MustStatus(t, 200)
	res.JSON(t, &rep)
	if len(rep.Orphans)+len(rep.Overbooked)+len(rep.ZombieMoves)+len(rep.Drift) != 0 {
		t.Errorf("the copy breaks invariants: %s", res.Body)
	}
	after := memberIDs(t, restored.App.Store)
	for id := range before {
		if !after[id] {
			t.Errorf("member %s, counted before the backup, is not in the copy", id)
		}
	}
	if len(before) < 10+3*2 {
		t.Fatalf("only %d members before the backup", len(before))
	}
}

// On PostgreSQL berth backup answers with the pg_dump command and writes
// nothing.
func TestBackupPostgresRefused(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "copy.db")
	var out, errOut bytes.Buffer
	code := Main([]string{"backup", "--db", "postgres://berth@db/berth", "--token", "x", file}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "pg_dump --format=custom") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a file was written: %v", err)
	}
}

// A copy cut short (fewer bytes than its Content-Length) or an answer
// that is not a SQLite database fails, leaving neither FILE nor
// FILE.partial behind.
func TestBackupRefusesBrokenAnswers(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]http.HandlerFunc{
		"cut short": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "4096")
			w.Write(sqliteMagic) // then the connection closes
		},
		"not SQLite": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>a proxy's page</html>"))
		},
	} {
		srv := httptest.NewServer(h)
		defer srv.Close()
		file := filepath.Join(t.TempDir(), "copy.db")
		var out, errOut bytes.Buffer
		if code := Main([]string{"backup", "--url", srv.URL, "--token", "x", "--db", "berth.db", file}, &out, &errOut); code != 1 {
			t.Errorf("%s: exit %d: %s", name, code, errOut.String())
		}
		for _, f := range []string{file, file + ".partial"} {
			if _, err := os.Stat(f); !os.IsNotExist(err) {
				t.Errorf("%s: %s is left: %v", name, f, err)
			}
		}
		t.Logf("%s: %s", name, strings.TrimSpace(errOut.String()))
	}
}
