package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Every listing pages with limit and cursor: walking the pages by
// next_cursor sees every row once, in the order of the whole listing, and
// stops at an empty next_cursor; a made-up cursor is refused. Both
// databases.
func TestCursorPages(t *testing.T) {
	const adminToken = "test-admin-token-0123456789"
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := storetest.Open(t, d)
		s := New(alloc.New(st, nil, nil), auth.New(auth.Config{Store: st, AdminTokenHash: sha256.Sum256([]byte(adminToken))}), nil)
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		seed(t, ctx, st)
		userToken := seedLists(t, ctx, st, s)

		bearer := adminToken
		get := func(path string) (int, []json.RawMessage, string) {
			t.Helper()
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+bearer)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var page struct {
				Items      []json.RawMessage `json:"items"`
				NextCursor *string           `json:"next_cursor"`
			}
			if resp.StatusCode != 200 {
				return resp.StatusCode, nil, ""
			}
			if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || page.NextCursor == nil {
				t.Fatalf("GET %s: %v, next_cursor %v", path, err, page.NextCursor)
			}
			return resp.StatusCode, page.Items, *page.NextCursor
		}
		key := func(raw json.RawMessage) string {
			var v struct {
				ID       int64  `json:"id"`
				Position int    `json:"position"`
				Account  string `json:"account"`
			}
			_ = json.Unmarshal(raw, &v)
			return fmt.Sprintf("%d@%d%s", v.ID, v.Position, v.Account)
		}
		for _, list := range []string{"/api/v1/pools?", "/api/v1/pools?kind=team&", "/api/v1/seats?", "/api/v1/seats?state=active&",
			"/api/v1/queue?", "/api/v1/queue?kind=server&", "/api/v1/accounts?",
			"/api/v1/history?", "/api/v1/history?action=placed&", "/api/v1/codes?", "/api/v1/codes?group=g1&",
			"/api/v1/moves?", "/api/v1/moves?state=done&", "/api/v1/audit?", "/api/v1/audit?actor=alice&",
			"/api/v1/users?", "tokens /api/v1/tokens?"} {
			bearer = adminToken
			if rest, ok := strings.CutPrefix(list, "tokens "); ok {
				list, bearer = rest, userToken
			}
			_, all, next := get(list + "limit=1000")
			if next != "" || len(all) < 3 {
				t.Fatalf("%s: %d rows, next_cursor %q", list, len(all), next)
			}
			var want []string
			for _, r := range all {
				want = append(want, key(r))
			}
			for _, limit := range []int{1, 2, 3} {
				var got []string
				cursor, pages := "", 0
				for {
					status, items, next := get(list + "limit=" + fmt.Sprint(limit) + "&cursor=" + url.QueryEscape(cursor))
					if status != 200 || len(items) > limit {
						t.Fatalf("%s limit %d: status %d, %d items", list, limit, status, len(items))
					}
					for _, r := range items {
						got = append(got, key(r))
					}
					pages++
					if next == "" {
						break
					}
					if pages > len(want)+1 {
						t.Fatalf("%s limit %d: the pages do not end", list, limit)
					}
					cursor = next
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s limit %d: pages gave %v, the whole list %v", list, limit, got, want)
				}
			}
			if status, _, _ := get(list + "cursor=not-a-cursor"); status != http.StatusBadRequest {
				t.Fatalf("%s: a made-up cursor answered %d, want 400", list, status)
			}
		}
		// Older clients page by id with before or after: it still works.
		bearer = adminToken
		for _, list := range []string{"/api/v1/history?before=", "/api/v1/audit?before=", "/api/v1/codes?after="} {
			_, all, _ := get(strings.SplitN(list, "?", 2)[0] + "?limit=1000")
			_, rest, _ := get(list + strings.Split(key(all[1]), "@")[0])
			if len(rest) != len(all)-2 || key(rest[0]) != key(all[2]) {
				t.Fatalf("%s: %d rows after the second of %d", list, len(rest), len(all))
			}
		}
	})
}

// seed makes pools with tied priorities, seats and a queue of both kinds
// with moves.
func seed(t *testing.T, ctx context.Context, st *store.Store) {
	t.Helper()
	pools := map[model.Kind][]int64{}
	for i, p := range []struct {
		name     string
		kind     model.Kind
		priority int
	}{{"s-b", model.KindServer, 1}, {"s-a", model.KindServer, 1}, {"s-c", model.KindServer, 0}, {"s.d", model.KindServer, 2},
		{"t-b", model.KindTeam, 0}, {"t-a", model.KindTeam, 0}, {"t-c", model.KindTeam, 3}} {
		got, err := st.PoolCreate(ctx, store.PoolCreateParams{Name: p.name, Kind: p.kind, Capacity: 10 + i, Priority: p.priority,
			ProviderType: "sim", ProviderConfig: []byte("{}")})
		if err != nil {
			t.Fatal(err)
		}
		pools[p.kind] = append(pools[p.kind], got.ID)
	}
	for i := range 14 {
		kind := model.KindServer
		if i%2 == 1 {
			kind = model.KindTeam
		}
		m, _, err := st.MemberCreate(ctx, store.MemberCreateParams{Kind: kind, ExternalID: fmt.Sprintf("m%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i < 8 {
			state := model.SeatActive
			if i%3 == 0 {
				state = model.SeatReleased
			}
			if _, err := st.SeatCreate(ctx, m.ID, pools[kind][i%len(pools[kind])], state, 0, 0); err != nil {
				t.Fatal(err)
			}
		} else if _, err := st.QueuePush(ctx, model.QueueEntry{MemberID: m.ID, Kind: kind, IsMove: i%4 == 0, Reason: "full"}); err != nil {
			t.Fatal(err)
		}
	}
}

// seedLists adds rows to the listings seed leaves empty or short: history,
// codes, moves, audit rows, users and a user's tokens (whose secret it
// returns), at least three of each, some matching each test filter.
func seedLists(t *testing.T, ctx context.Context, st *store.Store, s *Server) string {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	seats, err := st.SeatList(ctx, store.SeatFilter{})
	must(err)
	for i := range 9 {
		action := model.ActPlaced
		if i%3 == 0 {
			action = model.ActMoveFailed
		}
		must(st.HistoryAdd(ctx, model.HistoryEntry{Member: fmt.Sprintf("m%02d", i), Action: action}))
		_, err := st.CodeCreate(ctx, store.CodeCreateParams{Display: fmt.Sprintf("CODE-%04d", i), Normalized: fmt.Sprintf("CODE%04d", i),
			Hint: fmt.Sprintf("%04d", i), Group: fmt.Sprintf("g%d", i%2), MaxUses: 1})
		must(err)
		_, err = st.AuditAdd(ctx, store.AuditEntry{Actor: []string{"alice", "bob"}[i%2], Action: "POST /api/v1/pools", Target: "id=1", Status: 201})
		must(err)
		seat := seats[i%len(seats)]
		id, err := st.MoveCreate(ctx, model.Move{MemberID: seat.MemberID, FromSeat: seat.ID, Reason: "test", Actor: "alice"})
		must(err)
		state := model.MoveDone
		if i%3 == 0 {
			state = model.MoveFailed
		}
		_, err = st.MoveFinish(ctx, id, state, "")
		must(err)
	}
	var user store.User
	for i := range 4 {
		u, err := st.UserCreate(ctx, fmt.Sprintf("user%d", i), "x", "viewer")
		must(err)
		user = u
	}
	var secret string
	for i := range 5 {
		secret, _, err = s.auth.CreateToken(ctx, user.ID, fmt.Sprintf("t%d", i))
		must(err)
	}
	return secret
}
