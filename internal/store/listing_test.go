package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The listings that used the catch-all form "($1 = '' OR col = $1)" build
// their WHERE from the filters set (where.go). These tests run the former
// catch-all statements, kept here verbatim, beside the listings for every
// combination of filters on a small fixture: same rows, same order.

// catchAll runs a former statement and returns its first column, in order.
func catchAll(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// spread counts how a listing's combinations narrowed the fixture: how many
// were empty, how many returned a part of it, how many all of it. A
// comparison where every combination returns everything (or nothing) would
// prove nothing about the filters.
type spread struct{ empty, part, all int }

func (s *spread) note(n, all int) {
	switch {
	case n == 0:
		s.empty++
	case n < all:
		s.part++
	default:
		s.all++
	}
}

func (s spread) check(t *testing.T, what string) {
	t.Helper()
	if s.empty == 0 || s.part < 2 || s.all == 0 {
		t.Fatalf("%s: the fixture does not exercise the filters: %+v", what, s)
	}
}

func ids[T any](list []T, key func(T) string) []string {
	out := []string{}
	for _, v := range list {
		out = append(out, key(v))
	}
	return out
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, the catch-all statement gave %v", what, got, want)
	}
}

type listingFixture struct {
	s     *store.Store
	clock *time.Time
	t0    time.Time
	audit []int64 // ids, in insertion order
	pools map[string]model.Pool
	mem   map[string]model.Member
}

func newListingFixture(t *testing.T, d store.Dialect) *listingFixture {
	ctx := context.Background()
	s := storetest.Open(t, d)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	s.SetClock(func() time.Time { return now })
	f := &listingFixture{s: s, clock: &now, t0: t0, pools: map[string]model.Pool{}, mem: map[string]model.Member{}}

	for _, p := range []struct {
		name     string
		kind     model.Kind
		priority int
	}{{"p-b", model.KindServer, 1}, {"p-a", model.KindServer, 1}, {"p-c", model.KindServer, 0}, {"t-a", model.KindTeam, 0}} {
		got, err := s.PoolCreate(ctx, store.PoolCreateParams{Name: p.name, Kind: p.kind, Capacity: 10, Priority: p.priority,
			ProviderType: "sim", ProviderConfig: []byte("{}")})
		if err != nil {
			t.Fatal(err)
		}
		f.pools[p.name] = got
	}
	for _, m := range []struct {
		kind    model.Kind
		id, key string
	}{{model.KindServer, "m1", "s1"}, {model.KindServer, "m2", "s1"}, {model.KindServer, "m3", "s2"}, {model.KindServer, "m4", ""},
		{model.KindServer, "m5", "s2"}, {model.KindServer, "m6", "s1"}, {model.KindTeam, "t1", ""}, {model.KindTeam, "t2", "s1"}} {
		got, _, err := s.MemberCreate(ctx, store.MemberCreateParams{Kind: m.kind, ExternalID: m.id, AffinityKey: m.key})
		if err != nil {
			t.Fatal(err)
		}
		f.mem[m.id] = got
	}
	seat := func(member, pool string, st model.SeatState) int64 {
		id, err := s.SeatCreate(ctx, f.mem[member].ID, f.pools[pool].ID, st, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	s1 := seat("m1", "p-a", model.SeatActive)
	s2 := seat("m2", "p-b", model.SeatActive)
	seat("m3", "p-a", model.SeatReleased)
	s5 := seat("m5", "p-a", model.SeatProvisioning)
	seat("t1", "t-a", model.SeatActive)

	// Moves a minute apart: m1's stays pending, m2's is done, m5's failed.
	for _, mv := range []struct {
		member string
		seat   int64
		end    model.MoveState
	}{{"m1", s1, ""}, {"m2", s2, model.MoveDone}, {"m5", s5, model.MoveFailed}} {
		id, err := s.MoveCreate(ctx, model.Move{MemberID: f.mem[mv.member].ID, FromSeat: mv.seat, Reason: "test", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if mv.end != "" {
			if ok, err := s.MoveFinish(ctx, id, mv.end, ""); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		now = now.Add(time.Minute)
	}

	for _, e := range []struct {
		member string
		move   bool
	}{{"m4", false}, {"m6", false}, {"t2", false}, {"m2", true}} {
		if _, err := s.QueuePush(ctx, model.QueueEntry{MemberID: f.mem[e.member].ID, Kind: f.mem[e.member].Kind, IsMove: e.move, Reason: "full"}); err != nil {
			t.Fatal(err)
		}
	}

	for i, a := range []struct{ actor, action, target string }{
		{"alice", "POST /pools", "pool/1"}, {"bob", "DELETE /pools/{id}", "pool/1"}, {"alice", "POST /codes", "code/7"},
		{"bob", "PATCH /pools/{id}", "pool/2"}, {"alice", "odd_name 100%", "x"}, {"carol", `back\slash`, "pool/1"},
	} {
		id, err := s.AuditAdd(ctx, store.AuditEntry{At: t0.Add(time.Duration(i) * time.Hour), Actor: a.actor, Action: a.action, Target: a.target})
		if err != nil {
			t.Fatal(err)
		}
		f.audit = append(f.audit, id)
	}
	return f
}

func TestListingsMatchCatchAll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newListingFixture(t, d)
		s := f.s

		t.Run("AuditList", func(t *testing.T) {
			var sp spread
			zero := time.Time{}
			for _, actor := range []string{"", "alice", "nobody"} {
				for _, action := range []string{"", "pools", "_", "%", `\`} {
					for _, target := range []string{"", "pool/1"} {
						for _, since := range []time.Time{zero, f.t0.Add(time.Hour)} {
							for _, until := range []time.Time{zero, f.t0.Add(4 * time.Hour)} {
								for _, before := range []int64{0, f.audit[4]} {
									for _, limit := range []int{0, 2} {
										filter := store.AuditFilter{Actor: actor, Action: action, Target: target, Since: since, Until: until, BeforeID: before, Limit: limit}
										got, err := s.AuditList(ctx, filter)
										if err != nil {
											t.Fatal(err)
										}
										want := oldAuditList(t, s.DB, filter)
										same(t, fmt.Sprintf("%+v", filter), ids(got, func(e store.AuditEntry) string { return fmt.Sprint(e.ID) }), want)
										sp.note(len(want), len(f.audit))
									}
								}
							}
						}
					}
				}
			}
			sp.check(t, "AuditList")
			// The filters mean what they say, not only what they meant before.
			got, _ := s.AuditList(ctx, store.AuditFilter{Actor: "alice", Action: "POOLS", Until: f.t0.Add(time.Hour)})
			if len(got) != 1 || got[0].ID != f.audit[0] {
				t.Fatalf("alice's pool routes before 13:00: %+v", got)
			}
			if got, _ := s.AuditList(ctx, store.AuditFilter{Action: "_"}); len(got) != 1 || got[0].Action != "odd_name 100%" {
				t.Fatalf(`"_" is a character, not a wildcard: %+v`, got)
			}
		})

		t.Run("AccountList", func(t *testing.T) {
			var sp spread
			for _, script := range []string{"", "s1", "s2", "none"} {
				for _, pool := range []string{"", "p-a", "p-b", "none"} {
					for _, after := range []int64{0, f.mem["m2"].ID} {
						for _, limit := range []int{0, 1} {
							filter := store.AccountFilter{Script: script, Pool: pool, AfterID: after, Limit: limit}
							got, err := s.AccountList(ctx, filter)
							if err != nil {
								t.Fatal(err)
							}
							want := catchAll(t, s.DB, `SELECT m.external_id
		FROM members m
		LEFT JOIN seats s ON s.id = (SELECT MAX(s2.id) FROM seats s2 WHERE s2.member_id = m.id AND s2.state NOT IN ('released', 'failed'))
		LEFT JOIN pools p ON p.id = s.pool_id
		WHERE m.kind = 'server' AND ($1 = '' OR m.affinity_key = $1) AND ($2 = '' OR p.name = $2) AND m.id > $3
		ORDER BY m.id LIMIT $4`, script, pool, after, orDefault(limit, 1000))
							same(t, fmt.Sprintf("%+v", filter), ids(got, func(a store.Account) string { return a.Account }), want)
							sp.note(len(want), 6)
						}
					}
				}
			}
			sp.check(t, "AccountList")
			got, _ := s.AccountList(ctx, store.AccountFilter{Script: "s1", Pool: "p-a"})
			if len(got) != 1 || got[0].Account != "m1" || got[0].State != "active" {
				t.Fatalf("s1 on p-a: %+v", got)
			}
		})

		t.Run("MoveList", func(t *testing.T) {
			var sp spread
			for _, state := range []model.MoveState{"", model.MovePending, model.MoveDone, model.MoveFailed, model.MoveCancelled} {
				for _, older := range []time.Duration{0, 90 * time.Second, 150 * time.Second, time.Hour} {
					for _, limit := range []int{0, 1} {
						got, err := s.MoveList(ctx, state, older, limit)
						if err != nil {
							t.Fatal(err)
						}
						before := int64(0)
						if older > 0 {
							before = s.Now().Add(-older).UnixMicro()
						}
						want := catchAll(t, s.DB, `SELECT mv.id FROM moves mv JOIN members m ON m.id = mv.member_id
		WHERE ($1 = '' OR mv.state = $1) AND (CAST($2 AS BIGINT) = 0 OR mv.created_at < $2)
		ORDER BY mv.id DESC LIMIT $3`, string(state), before, orDefault(limit, 1000))
						what := fmt.Sprintf("state %q, older than %v, limit %d", state, older, limit)
						same(t, what, ids(got, func(mv model.Move) string { return fmt.Sprint(mv.ID) }), want)
						sp.note(len(want), 3)
					}
				}
			}
			sp.check(t, "MoveList")
			if got, _ := s.MoveList(ctx, model.MovePending, 150*time.Second, 0); len(got) != 1 || got[0].Member != "m1" {
				t.Fatalf("pending moves older than 2m30s: %+v", got)
			}
		})

		t.Run("PoolList", func(t *testing.T) {
			var sp spread
			for _, kind := range []model.Kind{"", model.KindServer, model.KindTeam, "other"} {
				got, err := s.PoolList(ctx, kind)
				if err != nil {
					t.Fatal(err)
				}
				want := catchAll(t, s.DB, `SELECT name FROM pools WHERE ($1 = '' OR kind = $1) ORDER BY priority, name`, string(kind))
				same(t, fmt.Sprintf("kind %q", kind), ids(got, func(p model.Pool) string { return p.Name }), want)
				sp.note(len(want), len(f.pools))
			}
			sp.check(t, "PoolList")
			if got, _ := s.PoolList(ctx, model.KindServer); !slices.Equal(ids(got, func(p model.Pool) string { return p.Name }), []string{"p-c", "p-a", "p-b"}) {
				t.Fatalf("server pools by priority, then name: %+v", got)
			}
		})

		t.Run("QueueList", func(t *testing.T) {
			var sp spread
			for _, kind := range []model.Kind{"", model.KindServer, model.KindTeam, "other"} {
				for _, limit := range []int{0, 1, 2} {
					got, err := s.QueueList(ctx, kind, limit)
					if err != nil {
						t.Fatal(err)
					}
					want := catchAll(t, s.DB, `SELECT q.id FROM queue q JOIN members m ON m.id = q.member_id
		WHERE ($1 = '' OR q.kind = $1) ORDER BY q.kind, q.is_move DESC, q.seq, q.id LIMIT $2`, string(kind), orDefault(limit, 100000))
					same(t, fmt.Sprintf("kind %q, limit %d", kind, limit), ids(got, func(e model.QueueEntry) string { return fmt.Sprint(e.ID) }), want)
					sp.note(len(want), 4)
					for i, e := range got {
						if e.Position != i+1 {
							t.Fatalf("kind %q: entry %d has position %d", kind, i, e.Position)
						}
					}
				}
			}
			sp.check(t, "QueueList")
			got, _ := s.QueueList(ctx, model.KindServer, 0)
			if !slices.Equal(ids(got, func(e model.QueueEntry) string { return e.Member }), []string{"m2", "m4", "m6"}) {
				t.Fatalf("server queue, the move first: %+v", got)
			}
		})

		t.Run("PoolSetStatus", func(t *testing.T) {
			p := f.pools["p-c"]
			// expect set and not met: nothing changes.
			if _, changed, err := s.PoolSetStatus(ctx, p.ID, model.StatusOffline, "probe", "monitor", model.StatusPaused); err != nil || changed {
				t.Fatalf("changed %v, %v, though the pool is not paused", changed, err)
			}
			if got, _ := s.PoolGet(ctx, p.ID); got.Status != model.StatusActive {
				t.Fatalf("status %s", got.Status)
			}
			// expect met.
			if before, changed, err := s.PoolSetStatus(ctx, p.ID, model.StatusOffline, "probe", "monitor", model.StatusActive); err != nil || !changed || before.Status != model.StatusActive {
				t.Fatalf("changed %v, before %s, %v", changed, before.Status, err)
			}
			// No expect: whatever the status.
			if _, changed, err := s.PoolSetStatus(ctx, p.ID, model.StatusPaused, "admin", "alice", ""); err != nil || !changed {
				t.Fatalf("changed %v, %v", changed, err)
			}
			if got, _ := s.PoolGet(ctx, p.ID); got.Status != model.StatusPaused || got.StatusActor != "alice" {
				t.Fatalf("pool %+v", got)
			}
		})
	})
}

// oldAuditList is AuditList's former statement, with one change: the
// CASTs. Without them PostgreSQL types $4 and $5 as int4 from "$4 = 0" and
// the statement failed ("greater than maximum value for int4") whenever a
// time bound was set; the where builder compares with the column itself.
func oldAuditList(t *testing.T, db *sql.DB, f store.AuditFilter) []string {
	t.Helper()
	switch {
	case f.Limit <= 0:
		f.Limit = 500
	case f.Limit > 100000:
		f.Limit = 100000
	}
	var since, until int64
	if !f.Since.IsZero() {
		since = f.Since.UnixMicro()
	}
	if !f.Until.IsZero() {
		until = f.Until.UnixMicro()
	}
	action := ""
	if f.Action != "" {
		action = "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Action) + "%"
	}
	return catchAll(t, db, `
		SELECT id FROM audit
		WHERE ($1 = '' OR actor = $1)
		  AND ($2 = '' OR LOWER(action) LIKE LOWER($2) ESCAPE '\')
		  AND ($3 = '' OR target = $3)
		  AND (CAST($4 AS BIGINT) = 0 OR at >= $4)
		  AND (CAST($5 AS BIGINT) = 0 OR at < $5)
		  AND (CAST($6 AS BIGINT) = 0 OR id < $6)
		ORDER BY id DESC LIMIT $7`, f.Actor, action, f.Target, since, until, f.BeforeID, f.Limit)
}

// orDefault is the default a listing puts in place of limit 0.
func orDefault(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return limit
}
