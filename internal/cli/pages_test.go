package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// listPageSize is the page size of GET /api/v1/users and /api/v1/tokens
// (api.userList, api.tokenList); the test writes more rows than that.
const listPageSize = 1000

// TestUsersAndTokensListEveryPage: users list and tokens list show every
// user and token, not the first page of 1000 the API answers, in the table
// and with -o json.
func TestUsersAndTokensListEveryPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		ctx := context.Background()
		const extra = listPageSize + 5
		var owner int64
		// Rows straight into the store, in one transaction: a user through
		// the API costs a password hash and an audit row each.
		err := h.App.Store.InTx(ctx, func(tx *store.Tx) error {
			for i := 1; i <= extra; i++ {
				u, err := tx.UserCreate(ctx, fmt.Sprintf("pager-%04d", i), "not-a-hash", "viewer")
				if err != nil {
					return err
				}
				owner = u.ID
			}
			for i := 1; i <= extra; i++ {
				if _, err := tx.TokenCreate(ctx, fmt.Sprintf("hash-%04d", i), owner, fmt.Sprintf("tok-%04d", i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The owner's own token, the CLI's credential: one more token.
		own, _, err := h.App.Auth.CreateToken(ctx, owner, "tok-own")
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": apptest.Token}
		ownerEnv := map[string]string{"BERTH_URL": h.App.URL, "BERTH_ADMIN_TOKEN": own}

		// Every user: the first admin and the extra ones.
		wantUsers := extra + 1
		out, errOut, code := run(t, env, "users", "list")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if code != 0 || !strings.HasPrefix(lines[0], "ID") || len(lines)-1 != wantUsers {
			t.Fatalf("users list: code %d, %d rows, want %d\n%s", code, len(lines)-1, wantUsers, errOut)
		}
		for _, name := range []string{"admin", "pager-0001", "pager-1000", fmt.Sprintf("pager-%04d", extra)} {
			if !strings.Contains(out, " "+name+" ") {
				t.Errorf("users list lacks %s", name)
			}
		}
		assertAllItems(t, env, []string{"users", "list", "-o", "json"}, wantUsers)

		// Every token of the owner: the extra ones and its own.
		wantTokens := extra + 1
		out, errOut, code = run(t, ownerEnv, "tokens", "list")
		lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if code != 0 || !strings.HasPrefix(lines[0], "ID") || len(lines)-1 != wantTokens {
			t.Fatalf("tokens list: code %d, %d rows, want %d\n%s", code, len(lines)-1, wantTokens, errOut)
		}
		for _, name := range []string{"tok-0001", "tok-1000", fmt.Sprintf("tok-%04d", extra), "tok-own"} {
			if !strings.Contains(out, " "+name+" ") {
				t.Errorf("tokens list lacks %s", name)
			}
		}
		if strings.Contains(out, own) {
			t.Error("tokens list shows a token")
		}
		assertAllItems(t, ownerEnv, []string{"tokens", "list", "-o", "json"}, wantTokens)
	})
}

// assertAllItems runs a listing with -o json and checks it holds want
// items, each id once.
func assertAllItems(t *testing.T, env map[string]string, args []string, want int) {
	t.Helper()
	out, errOut, code := run(t, env, args...)
	var res struct{ Items []struct{ ID int64 } }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("%v: code %d\n%s", args, code, errOut)
	}
	seen := map[int64]bool{}
	for _, it := range res.Items {
		seen[it.ID] = true
	}
	if len(res.Items) != want || len(seen) != want {
		t.Fatalf("%v: %d items (%d ids), want %d", args, len(res.Items), len(seen), want)
	}
}

// pagedServer stands in for the API: it answers path with pages[cursor]
// (the cursor the CLI sent) as long as keep holds for the query, and
// records each request as "cursor/limit" in asked. It returns the
// environment pointing the CLI at it.
func pagedServer(t *testing.T, path string, keep func(url.Values) bool, pages map[string]string, asked *[]string) map[string]string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != path || !keep(q) {
			http.Error(w, "path or filter lost: "+r.URL.String(), 400)
			return
		}
		*asked = append(*asked, q.Get("cursor")+"/"+q.Get("limit"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, pages[q.Get("cursor")])
	}))
	t.Cleanup(srv.Close)
	return map[string]string{"BERTH_URL": srv.URL, "BERTH_ADMIN_TOKEN": "token-0123456789abcdef"}
}

// TestCodesListEveryPage: codes list reads every page of GET /api/v1/codes
// (100000 codes a page: too many to write here, so a stand-in server
// answers pages of two), the filters on each; --limit N asks one page.
func TestCodesListEveryPage(t *testing.T) {
	pages := map[string]string{
		"":   `{"items":[{"id":1,"code":"AAAA-0001","group":"vip"},{"id":2,"code":"AAAA-0002","group":"vip"}],"next_cursor":"c1"}`,
		"c1": `{"items":[{"id":3,"code":"AAAA-0003","group":"vip"}],"next_cursor":""}`,
	}
	var asked []string
	env := pagedServer(t, "/api/v1/codes", func(q url.Values) bool { return q.Get("group") == "vip" }, pages, &asked)

	out, errOut, code := run(t, env, "codes", "list", "--group", "vip")
	if code != 0 || strings.Count(out, "AAAA-") != 3 || !strings.Contains(out, "AAAA-0003") || strings.Join(asked, ",") != "/,c1/" {
		t.Fatalf("codes list: code %d, asked %q\n%s%s", code, asked, out, errOut)
	}
	asked = nil
	out, errOut, code = run(t, env, "codes", "list", "--group", "vip", "-o", "json")
	var res struct{ Items []struct{ ID int64 } }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Items) != 3 || res.Items[2].ID != 3 {
		t.Fatalf("codes list -o json: code %d\n%s%s", code, out, errOut)
	}
	asked = nil
	out, errOut, code = run(t, env, "codes", "list", "--group", "vip", "--limit", "2")
	if code != 0 || strings.Count(out, "AAAA-") != 2 || strings.Join(asked, ",") != "/2" {
		t.Fatalf("codes list --limit 2: code %d, asked %q\n%s%s", code, asked, out, errOut)
	}
}

// history --limit above the API's page reads on through next_cursor and
// stops at the limit; the table reads oldest first.
func TestHistoryLimitAcrossPages(t *testing.T) {
	pages := map[string]string{
		"":   `{"items":[{"at":"2026-01-01T00:00:05Z","member":"m5","action":"placed"},{"at":"2026-01-01T00:00:04Z","member":"m4","action":"placed"}],"next_cursor":"c1"}`,
		"c1": `{"items":[{"at":"2026-01-01T00:00:03Z","member":"m3","action":"placed"},{"at":"2026-01-01T00:00:02Z","member":"m2","action":"placed"}],"next_cursor":"c2"}`,
		"c2": `{"items":[{"at":"2026-01-01T00:00:01Z","member":"m1","action":"placed"}],"next_cursor":""}`,
	}
	var asked []string
	env := pagedServer(t, "/api/v1/history", func(q url.Values) bool { return q.Get("pool") == "team-1" }, pages, &asked)

	out, errOut, code := run(t, env, "history", "--pool", "team-1", "--limit", "3")
	if code != 0 || strings.Join(asked, ",") != "/3,c1/3" {
		t.Fatalf("history --limit 3: code %d, asked %q\n%s%s", code, asked, out, errOut)
	}
	if strings.Count(out, "placed") != 3 || strings.Contains(out, "m2") || strings.Index(out, "m3") > strings.Index(out, "m5") {
		t.Fatalf("history --limit 3 shows the 3 newest, oldest first:\n%s", out)
	}
	asked = nil
	out, errOut, code = run(t, env, "history", "--pool", "team-1", "--limit", "50", "-o", "json")
	var res struct{ Items []struct{ Member string } }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Items) != 5 || res.Items[4].Member != "m1" || len(asked) != 3 {
		t.Fatalf("history --limit 50 -o json: code %d, asked %q\n%s%s", code, asked, out, errOut)
	}
	if _, errOut, code = run(t, env, "history", "--limit", "0"); code == 0 || !strings.Contains(errOut, "--limit") {
		t.Fatalf("--limit 0: code %d, %s", code, errOut)
	}
}
