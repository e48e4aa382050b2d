package scim

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/scim/scimmytest"
)

// retry calls op until it succeeds, as berth's job queue would: retryable
// failures are tried again after their Retry-After (capped) or a short
// backoff; a permanent failure ends it.
func retry(ctx context.Context, op func() error) (attempts int, err error) {
	for attempts = 1; ; attempts++ {
		err = op()
		if err == nil || provider.Classify(err) != provider.Retryable || attempts == 100 {
			return attempts, err
		}
		wait := time.Duration(attempts) * 20 * time.Millisecond
		if pe, ok := err.(*provider.Error); ok && pe.RetryAfter > 0 {
			wait = pe.RetryAfter
		}
		select {
		case <-time.After(min(wait, 2*time.Second)):
		case <-ctx.Done():
			return attempts, ctx.Err()
		}
	}
}

// TestSCIMMYFaultsConvergeWithoutDuplicates provisions and then removes 100
// users while the server answers 30% of requests with 503 (half of them
// after applying the request), times out 10% after applying them, and
// rate-limits 5% with Retry-After. The server does not enforce userName
// uniqueness here, so any second create would show as a duplicate.
func TestSCIMMYFaultsConvergeWithoutDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection takes a few seconds")
	}
	s := scimmytest.Start(t, "UNIQUE=0", "HANG_MS=3000", "RETRY_AFTER=1", "FAULT_SEED=7")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := newProvider(t, Config{BaseURL: s.Base, Group: "Engineering", Timeout: 400 * time.Millisecond})

	emails := make([]string, 100)
	for i := range emails {
		emails[i] = fmt.Sprintf("fault%03d@example.com", i)
	}
	run := func(what string, op func(context.Context, provider.Member) error) {
		t.Helper()
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total int
		)
		work := make(chan string)
		for range 20 {
			wg.Go(func() {
				for e := range work {
					n, err := retry(ctx, func() error { return op(ctx, member(e)) })
					mu.Lock()
					total += n
					mu.Unlock()
					if err != nil {
						t.Errorf("%s %s: gave up after %d attempts: %v", what, e, n, err)
					}
				}
			})
		}
		for _, e := range emails {
			work <- e
		}
		close(work)
		wg.Wait()
		t.Logf("%s: %d calls for %d users", what, total, len(emails))
	}

	s.Faults(t, 0.30, 0.10, 0.05)
	run("provision", p.Put)
	s.Faults(t, 0, 0, 0)

	st := s.Stats(t)
	t.Logf("server: %+v", st)
	if st.Injected5xxAfter == 0 || st.InjectedTimeouts == 0 || st.Injected429 == 0 {
		t.Errorf("faults were not all exercised: %+v", st)
	}
	users, _ := s.State(t)
	count := map[string]int{}
	for _, u := range users {
		count[strings.ToLower(u.UserName)]++
		if !u.Active {
			t.Errorf("user %s is inactive", u.UserName)
		}
	}
	for _, e := range emails {
		if count[e] != 1 {
			t.Errorf("%s: %d users at the provider, want exactly 1", e, count[e])
		}
	}
	if len(users) != len(emails) || st.UsersCreated != len(emails) {
		t.Errorf("the server holds %d users and created %d, want %d", len(users), st.UsersCreated, len(emails))
	}
	g := s.Group(t, "Engineering")
	seen := map[string]int{}
	for _, m := range g.Members {
		seen[m.Value]++
	}
	for _, u := range users {
		if seen[u.ID] != 1 {
			t.Errorf("%s is %d times in the group, want once", u.UserName, seen[u.ID])
		}
	}
	if len(g.Members) != len(emails) {
		t.Errorf("the group has %d members, want %d", len(g.Members), len(emails))
	}

	// And back out, under the same faults: nothing is left behind.
	s.Faults(t, 0.30, 0.10, 0.05)
	run("deprovision", p.Remove)
	s.Faults(t, 0, 0, 0)
	if users, _ := s.State(t); len(users) != 0 {
		t.Errorf("after deprovisioning everyone the server still holds %d users", len(users))
	}
	if g := s.Group(t, "Engineering"); len(g.Members) != 0 {
		t.Errorf("after deprovisioning everyone the group still has %d members", len(g.Members))
	}
}
