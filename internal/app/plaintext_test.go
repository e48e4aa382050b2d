package app_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// rawRows reads every row of query as it is stored, each column's value as
// bytes (NULL as nil).
func rawRows(t *testing.T, h *apptest.Harness, query string) [][][]byte {
	t.Helper()
	rows, err := h.App.Store.DB.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][][]byte
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([][]byte, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
			case []byte:
				row[i] = v
			case string:
				row[i] = []byte(v)
			default:
				row[i] = fmt.Append(nil, v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Secrets are sealed at rest (docs/security.md): the codes table holds no
// code in any spelling (only a keyed hash to look it up by, the sealed
// code and its short hint), the members' file column no byte run of a
// session file, and the pools' provider settings no credential. Read from
// the raw rows, after generating codes, redeeming one, importing accounts
// and adding a team with a token; on SQLite the whole database file and
// its write-ahead log are searched too.
func TestNoPlaintextAtRest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		teams(h, 1, 10)
		h.Pool("srv-1", "server", 10, 0)
		var nonce [8]byte
		rand.Read(nonce[:])
		token := "scim-token-" + hex.EncodeToString(nonce[:])
		h.Do("POST", "/api/v1/pools", map[string]any{"name": "scim-1", "kind": "team", "capacity": 0,
			"provider": map[string]any{"type": "scim", "base_url": "http://127.0.0.1:9/scim/v2", "token": token}}).MustStatus(t, 201)
		generated := genCodes(t, h, 5, nil)
		if _, r := redeem(t, h, "user@example.com", generated[0]); r.Status != 200 {
			t.Fatalf("redeem: %d %s", r.Status, r.Body)
		}
		files := make([]apptest.File, 3)
		for i := range files {
			files[i] = apptest.File{Name: fmt.Sprintf("acct%d.session", i),
				Data: []byte(fmt.Sprintf("SQLite format 3\x00 private session %d of %s", i, hex.EncodeToString(nonce[:])))}
		}
		for _, it := range h.Import("A", files) {
			if it.Status != "placed" {
				t.Fatalf("import: %+v", it)
			}
		}

		// Every spelling of every code: as given out, normalized, either case.
		var secrets [][]byte
		for _, c := range generated {
			norm, err := codes.Normalize(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{c, norm, strings.ToLower(c), strings.ToLower(norm)} {
				secrets = append(secrets, []byte(s))
			}
		}
		codeRows := rawRows(t, h, `SELECT * FROM codes`)
		if len(codeRows) != len(generated) {
			t.Fatalf("%d rows in codes, want %d", len(codeRows), len(generated))
		}
		for _, row := range codeRows {
			for col, v := range row {
				for _, s := range secrets {
					if bytes.Contains(v, s) {
						t.Fatalf("codes column %d holds the code %s in clear: %q", col, s, v)
					}
				}
			}
		}
		memberRows := rawRows(t, h, `SELECT external_id, file_data FROM members WHERE kind = 'server'`)
		if len(memberRows) != len(files) {
			t.Fatalf("%d server members, want %d", len(memberRows), len(files))
		}
		marker := []byte("private session")
		for _, row := range memberRows {
			if len(row[1]) == 0 {
				t.Fatalf("member %s: no file stored", row[0])
			}
			for _, f := range files {
				if bytes.Contains(row[1], f.Data) || bytes.Contains(row[1], marker) {
					t.Fatalf("member %s: file_data holds a session file in clear: %q", row[0], row[1])
				}
			}
		}
		poolRows := rawRows(t, h, `SELECT provider_config FROM pools WHERE name = 'scim-1'`)
		if len(poolRows) != 1 || len(poolRows[0][0]) == 0 || bytes.Contains(poolRows[0][0], []byte(token)) {
			t.Fatalf("the SCIM team's provider settings hold its token in clear: %q", poolRows)
		}

		if d != store.SQLite {
			return
		}
		// The database file and its log hold none of them anywhere (no
		// other table, no index, no stale page).
		for _, name := range []string{h.DSN, h.DSN + "-wal"} {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range append(secrets, marker, []byte(token)) {
				if i := bytes.Index(data, s); i >= 0 {
					t.Errorf("%s holds %q in clear at byte %d", name, s, i)
				}
			}
		}
	})
}
