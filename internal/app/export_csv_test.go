package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A CSV export without a limit holds every matching row, not one page of
// the listing (100,000 codes, 500 audit rows): it is streamed in chunks.
// With a limit it is one page, as before.

// exportCode is the code with id in the rows insertCodes writes.
func exportCode(id int) string { return fmt.Sprintf("EXP-%08d", id) }

// insertCodes writes codes 1..n straight into the database (sealed with
// the harness's key, as codebook would), in one transaction of a hundred
// statements, highest id first: generating 100,050 codes through the API
// would take minutes. The values are literals: bound, 5,000 arguments a
// statement took SQLite's driver seconds each under the race detector.
func insertCodes(t *testing.T, h *apptest.Harness, d store.Dialect, n int) {
	t.Helper()
	start := time.Now()
	box := storetest.Box(t)
	now := time.Now().UnixMicro()
	bulkInsert(t, h, n, `INSERT INTO codes (id, lookup, sealed, hint, max_uses, status, created_at) VALUES `, func(i int) string {
		id := n - i
		code := exportCode(id)
		return fmt.Sprintf("(%d, '%s', %s, '%s', 1, 'unused', %d)", id, strings.ToLower(code), bytesLiteral(d, box.Seal([]byte(code))), code[len(code)-4:], now)
	})
	t.Logf("%d codes inserted in %s", n, time.Since(start).Round(time.Millisecond))
}

// bulkInsert runs insert with n rows of values (row(0) … row(n-1)), a
// thousand to a statement, in one transaction.
func bulkInsert(t *testing.T, h *apptest.Harness, n int, insert string, row func(i int) string) {
	t.Helper()
	ctx := context.Background()
	tx, err := h.App.Store.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i := 0; i < n; i += 1000 {
		vals := make([]string, 0, 1000)
		for j := i; j < min(i+1000, n); j++ {
			vals = append(vals, row(j))
		}
		if _, err := tx.ExecContext(ctx, insert+strings.Join(vals, ", ")); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// bytesLiteral is b as an SQL literal of the dialect's bytes type.
func bytesLiteral(d store.Dialect, b []byte) string {
	if d == store.Postgres {
		return `'\x` + hex.EncodeToString(b) + `'::bytea`
	}
	return `X'` + hex.EncodeToString(b) + `'`
}

// readCSV parses an export and checks its header row; it answers the data
// rows.
func readCSV(t *testing.T, r apptest.Response, header string) [][]string {
	t.Helper()
	r.MustStatus(t, 200)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("Content-Type %q", ct)
	}
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != header {
		t.Fatalf("CSV (%d records): %v, header %v", len(recs), err, recs[:min(len(recs), 1)])
	}
	return recs[1:]
}

const codesHeader = "code,group,status,max_uses,used_count,bound_email,valid_for,expires_at,ends_at,rebind_limit,rebind_count,batch,created_at,hint"

// wantCodes fails unless rows are the codes first..last, in id order.
func wantCodes(t *testing.T, what string, rows [][]string, first, last int) {
	t.Helper()
	if len(rows) != last-first+1 {
		t.Fatalf("%s: %d data rows, want %d", what, len(rows), last-first+1)
	}
	for i, row := range rows {
		if want := exportCode(first + i); row[0] != want || row[13] != want[len(want)-4:] {
			t.Fatalf("%s: row %d is %v, want code %s (every code once, in id order)", what, i+1, row, want)
		}
	}
}

func TestCodesCSVExportsEveryCode(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		const n = store.CodeMaxLimit + 50 // one more page than the listing's cap
		insertCodes(t, h, d, n)
		start := time.Now()
		rows := readCSV(t, h.Do("GET", "/api/v1/codes?format=csv", nil), codesHeader)
		t.Logf("exported %d codes in %s", len(rows), time.Since(start).Round(time.Millisecond))
		wantCodes(t, "format=csv", rows, 1, n)
		// The filters still apply to the whole export: none of these
		// codes is bound.
		if rows := readCSV(t, h.Do("GET", "/api/v1/codes?format=csv&status=bound", nil), codesHeader); len(rows) != 0 {
			t.Fatalf("status=bound: %d rows", len(rows))
		}
	})
}

func TestCodesCSVWithLimitIsOnePage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		insertCodes(t, h, d, 12)
		wantCodes(t, "limit=5", readCSV(t, h.Do("GET", "/api/v1/codes?format=csv&limit=5", nil), codesHeader), 1, 5)
		wantCodes(t, "limit=5&after=5", readCSV(t, h.Do("GET", "/api/v1/codes?format=csv&limit=5&after=5", nil), codesHeader), 6, 10)
		// Without a limit, from after on to the end.
		wantCodes(t, "after=5", readCSV(t, h.Do("GET", "/api/v1/codes?format=csv&after=5", nil), codesHeader), 6, 12)
	})
}

// The audit export had the same one-page cap, 500 rows by default.
func TestAuditCSVExportsEveryRow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		const n = 10050 // two whole chunks of the export and then some
		now := time.Now().UnixMicro()
		bulkInsert(t, h, n, `INSERT INTO audit (at, actor, action, target) VALUES `, func(i int) string {
			return fmt.Sprintf("(%d, 'test', 'bulk', 'row=%d')", now, i)
		})
		ctx := context.Background()
		const header = "id,at,actor,action,target,status,remote_ip,before,after,request"
		rows := readCSV(t, h.Do("GET", "/api/v1/audit?format=csv", nil), header)
		dbRows, err := h.App.Store.DB.QueryContext(ctx, `SELECT id FROM audit ORDER BY id DESC`)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for dbRows.Next() {
			var id int64
			if err := dbRows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		if err := dbRows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(ids) < n || len(rows) != len(ids) {
			t.Fatalf("%d rows exported, %d in the audit log (%d inserted)", len(rows), len(ids), n)
		}
		for i, row := range rows {
			if row[0] != ids[i] {
				t.Fatalf("row %d has id %s, want %s (every row once, newest first)", i+1, row[0], ids[i])
			}
		}
		// With a limit, one page, newest first.
		page := readCSV(t, h.Do("GET", "/api/v1/audit?format=csv&limit=7", nil), header)
		if len(page) != 7 || page[0][0] != ids[0] || page[6][0] != ids[6] {
			t.Fatalf("limit=7: %v", page)
		}
	})
}
