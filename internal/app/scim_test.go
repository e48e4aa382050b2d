package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/provider/scim/scimmytest"
	"github.com/berthhq/berth/internal/store"
)

// TestSCIMTeamsConvergeUnderFaults runs berth's whole path for teams
// (public redeem and rebind, placement, the deliver and remove jobs, the
// SCIM provider) against four real SCIM 2.0 servers (SCIMMY on loopback, one
// workspace per team) that answer 30% of requests with 503 (half of them
// after applying the request), apply 10% and then drop the connection
// without an answer, and rate-limit 5% with Retry-After. The servers do not
// enforce userName uniqueness, so a second create would show.
//
// 500 users redeem, then 100 of them move. When berth is quiet, every team's
// server must hold exactly the users berth has active there, each once:
// no duplicates, nothing orphaned at a provider, nobody missing.
func TestSCIMTeamsConvergeUnderFaults(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("fault injection through the job queue takes a while")
	}
	const (
		nTeams   = 4
		capacity = 150
		nUsers   = 500
		nMoves   = 100
	)
	servers := map[string]*scimmytest.Server{}
	for i := 1; i <= nTeams; i++ {
		servers[fmt.Sprintf("team-%d", i)] = scimmytest.Start(t, "UNIQUE=0", "HANG_MS=200", "RETRY_AFTER=1",
			fmt.Sprintf("FAULT_SEED=%d", i))
	}
	h := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Jobs.MaxDeliveryAttempts = 40
		c.Jobs.MaxRemoveAttempts = 40
	})
	for i := 1; i <= nTeams; i++ {
		name := fmt.Sprintf("team-%d", i)
		h.Do("POST", "/api/v1/pools", map[string]any{"name": name, "kind": "team", "capacity": capacity, "priority": i,
			"provider": map[string]any{"type": "scim", "base_url": servers[name].Base, "token": scimmytest.Token, "deprovision": "delete"},
		}).MustStatus(t, 201)
	}
	for _, s := range servers {
		s.Faults(t, 0.30, 0.10, 0.05)
	}

	codes := genCodes(t, h, nUsers, nil)
	emails := make([]string, nUsers)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%03d@example.com", i)
	}
	scimParallel(t, nUsers, 16, func(i int) error {
		return scimPublic(h, "/api/v1/public/redeem", emails[i], codes[i])
	})
	before := scimWaitSettled(t, h, emails, codes, nil)

	moved := map[string]string{} // email → the team it left
	for i := range nMoves {
		moved[emails[i]] = before[emails[i]]
	}
	scimParallel(t, nMoves, 16, func(i int) error {
		return scimPublic(h, "/api/v1/public/rebind", emails[i], codes[i])
	})
	after := scimWaitSettled(t, h, emails, codes, moved)

	for _, s := range servers {
		s.Faults(t, 0, 0, 0)
	}
	var injected scimmytest.Stats
	for _, s := range servers {
		st := s.Stats(t)
		injected.Requests += st.Requests
		injected.Injected429 += st.Injected429
		injected.Injected5xxBefore += st.Injected5xxBefore
		injected.Injected5xxAfter += st.Injected5xxAfter
		injected.InjectedTimeouts += st.InjectedTimeouts
		injected.UsersCreated += st.UsersCreated
	}
	t.Logf("SCIM servers, all teams: %+v", injected)
	if injected.Injected5xxAfter == 0 || injected.InjectedTimeouts == 0 || injected.Injected429 == 0 {
		t.Errorf("not every kind of fault was injected: %+v", injected)
	}
	// One user created per redeem and one per move, none more.
	if injected.UsersCreated != nUsers+nMoves {
		t.Errorf("the providers created %d users, want %d (one per redeem and per move)", injected.UsersCreated, nUsers+nMoves)
	}

	// Every team's workspace holds exactly berth's active members there.
	want := map[string][]string{}
	for e, team := range after {
		want[team] = append(want[team], e)
	}
	for team, s := range servers {
		users, _ := s.State(t)
		count := map[string]int{}
		var got []string
		for _, u := range users {
			name := strings.ToLower(u.UserName)
			count[name]++
			if count[name] == 1 {
				got = append(got, name)
			}
			if count[name] == 2 {
				t.Errorf("%s: %s is at the provider twice", team, name)
			}
			if !u.Active {
				t.Errorf("%s: %s is inactive at the provider", team, name)
			}
		}
		sort.Strings(got)
		sort.Strings(want[team])
		if strings.Join(got, ",") != strings.Join(want[team], ",") {
			t.Errorf("%s: the provider holds %d users, berth has %d active there\n extra: %v\n missing: %v",
				team, len(got), len(want[team]), scimMinus(got, want[team]), scimMinus(want[team], got))
		}
	}
	if bad := scimIntegrity(t, h); bad != "" {
		t.Errorf("integrity: %s", bad)
	}
}

// scimPublic posts {"email","code"} to a public route and wants 200.
func scimPublic(h *apptest.Harness, path, email, code string) error {
	body, _ := json.Marshal(map[string]string{"email": email, "code": code})
	resp, err := http.Post(h.App.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return fmt.Errorf("%s %s: HTTP %d: %s", path, email, resp.StatusCode, b.String())
	}
	return nil
}

// scimParallel runs fn(0…n-1) on workers goroutines and reports the errors.
func scimParallel(t *testing.T, n, workers int, fn func(int) error) {
	t.Helper()
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, n)
	for range workers {
		wg.Go(func() {
			for i := range work {
				if err := fn(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// scimWaitSettled waits until every user is active, not moving, and, for the
// users in moved, on another team than the one they left; it returns each
// user's team. It also waits for every seat to leave the in-flight states.
func scimWaitSettled(t *testing.T, h *apptest.Harness, emails, codes []string, moved map[string]string) map[string]string {
	t.Helper()
	teamOf := map[string]string{}
	deadline := time.Now().Add(4 * time.Minute)
	for i, e := range emails {
		for {
			s := publicStatus(t, h, e, codes[i])
			from, isMoved := moved[e]
			if s.State == "active" && !strings.Contains(s.Message, "moving") && (!isMoved || (s.Pool != "" && s.Pool != from)) {
				teamOf[e] = s.Pool
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not settle: %+v (moved from %q)", e, s, from)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	apptest.Eventually(t, 2*time.Minute, "no seat in flight", func() bool {
		var n int
		err := h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM seats WHERE state IN ('reserved','provisioning','releasing')`).Scan(&n)
		return err == nil && n == 0
	})
	var failed int
	_ = h.App.Store.DB.QueryRow(`SELECT COUNT(*) FROM seats WHERE state IN ('failed','release_failed')`).Scan(&failed)
	if failed > 0 {
		t.Errorf("%d seats failed or failed to release although every fault was retryable", failed)
	}
	return teamOf
}

// scimIntegrity returns what berth's own integrity check finds, or "".
func scimIntegrity(t *testing.T, h *apptest.Harness) string {
	t.Helper()
	var rep map[string]json.RawMessage
	h.Do("GET", "/api/v1/integrity", nil).MustStatus(t, 200).JSON(t, &rep)
	var out []string
	for k, v := range rep {
		var items []any
		if json.Unmarshal(v, &items) == nil && len(items) > 0 {
			out = append(out, fmt.Sprintf("%s: %s", k, v))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// scimMinus returns the elements of a (sorted) not in b.
func scimMinus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

// A SCIM server that refuses berth's token: the team becomes
// credential_invalid, the user is placed in the next team and provisioned
// there, and the bad team receives nobody after that.
func TestSCIMWrongTokenMarksTeamCredentialInvalid(t *testing.T) {
	t.Parallel()
	srv := scimmytest.Start(t)
	good := scimmytest.Start(t)
	h := apptest.Start(t, store.SQLite)
	for i, c := range []struct {
		name  string
		base  string
		token string
	}{{"bad-team", srv.Base, "not-the-token"}, {"good-team", good.Base, scimmytest.Token}} {
		h.Do("POST", "/api/v1/pools", map[string]any{"name": c.name, "kind": "team", "capacity": 5, "priority": i,
			"provider": map[string]any{"type": "scim", "base_url": c.base, "token": c.token}}).MustStatus(t, 201)
	}
	codes := genCodes(t, h, 2, nil)
	if s, r := redeem(t, h, "first@example.com", codes[0]); r.Status != 200 || s.Pool != "bad-team" {
		t.Fatalf("first redeem: %d %s", r.Status, r.Body)
	}
	waitActive(t, h, "first@example.com", codes[0], "good-team")
	var p struct{ Status string }
	h.Do("GET", "/api/v1/pools/1", nil).JSON(t, &p)
	if p.Status != "credential_invalid" {
		t.Fatalf("bad-team status %q", p.Status)
	}
	if s, _ := redeem(t, h, "second@example.com", codes[1]); s.Pool != "good-team" {
		t.Fatalf("second redeem went to %q", s.Pool)
	}
	if n := len(good.UsersNamed(t, "first@example.com")); n != 1 {
		t.Fatalf("%d users at the good team", n)
	}
	if n := len(srv.UsersNamed(t, "first@example.com")); n != 0 {
		t.Fatalf("the refusing server holds %d users", n)
	}
}
