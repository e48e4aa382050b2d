package store_test

import (
	"context"
	"testing"

	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// BenchmarkAuditListByActor lists one rare actor's entries among 200k on
// SQLite, with the WHERE the filters build (AuditList) and with the former
// catch-all statement, prepared alike. The catch-all cannot use
// audit_actor (actor, id): it walks the table by id to find 20 rows.
//
//	go test -run '^$' -bench AuditListByActor ./internal/store/
func BenchmarkAuditListByActor(b *testing.B) {
	ctx := context.Background()
	s := storetest.Open(b, store.SQLite)
	const rows = 200_000
	if _, err := s.DB.Exec(`WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < $1)
		INSERT INTO audit (at, actor, action, target) SELECT n, CASE WHEN n % 10000 = 0 THEN 'rare' ELSE 'admin' END, 'POST /pools', 'pool/1' FROM c`, rows); err != nil {
		b.Fatal(err)
	}
	if _, err := s.DB.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	want := rows / 10000

	b.Run("where", func(b *testing.B) {
		for b.Loop() {
			got, err := s.AuditList(ctx, store.AuditFilter{Actor: "rare", Limit: 50})
			if err != nil || len(got) != want {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run("catch-all", func(b *testing.B) {
		stmt, err := s.DB.Prepare(`
		SELECT id, at, actor, action, target, "before", "after", remote_ip, status, request FROM audit
		WHERE ($1 = '' OR actor = $1)
		  AND ($2 = '' OR LOWER(action) LIKE LOWER($2) ESCAPE '\')
		  AND ($3 = '' OR target = $3)
		  AND ($4 = 0 OR at >= $4)
		  AND ($5 = 0 OR at < $5)
		  AND ($6 = 0 OR id < $6)
		ORDER BY id DESC LIMIT $7`)
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		for b.Loop() {
			r, err := stmt.Query("rare", "", "", 0, 0, 0, 50)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for r.Next() {
				var id, at int64
				var actor, action, target, before, after, ip, request string
				var status int
				if err := r.Scan(&id, &at, &actor, &action, &target, &before, &after, &ip, &status, &request); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if err := r.Err(); err != nil || n != want {
				b.Fatal(n, err)
			}
			r.Close()
		}
	})
}
