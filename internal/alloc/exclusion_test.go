package alloc

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/store"
)

// Finding 9 of issue 11. A pool that refused a member (member-permanent)
// is excluded for that member only until FailedPoolWindow has passed: the
// member, queued meanwhile because the only other pool is full, is placed
// on the refusing pool by the first queue drain after the exclusion lapses.
// A retryable failure whose retries are spent excludes nothing: once its
// seat is released the member goes back to the same pool.
func TestExclusionLapsesAndQueueRetries(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, d, &jobsStub{})
			var mu sync.Mutex
			now := time.Now().UTC()
			s.st.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
			advance := func(by time.Duration) { mu.Lock(); now = now.Add(by); mu.Unlock() }
			pools := createPools(t, s, model.KindServer, 2, 1, nil)
			out, err := s.ImportAccounts(ctx, ImportParams{Script: "A", Files: accountFiles("a", 2)})
			if err != nil {
				t.Fatal(err)
			}
			if out[0].Status != OutcomePlaced || out[1].Status != OutcomePlaced || out[0].Pool == out[1].Pool {
				t.Fatalf("two accounts on two one-seat pools: %+v", out)
			}
			refused, other := out[0], out[1]
			refusedPool := pools[0]
			if refused.Pool != refusedPool.Name {
				refusedPool = pools[1]
			}
			queued := func(m model.Member) (model.QueueEntry, bool) {
				e, err := s.st.QueueGet(ctx, m.ID)
				return e, err == nil
			}
			seatOf := func(m model.Member) (model.Seat, bool) {
				seat, err := s.st.SeatLive(ctx, m.ID)
				return seat, err == nil
			}

			// The pool refuses the member: the pool is excluded for it; the
			// other pool is full, so it waits in the queue (not rejected).
			cause := provider.Errorf(provider.MemberPermanent, "HTTP 400: userName not accepted here")
			if err := s.DeliveryFailed(ctx, refused.SeatID, provider.MemberPermanent, cause); err != nil {
				t.Fatal(err)
			}
			e, ok := queued(refused.Member)
			until := now.Add(s.FailedPoolWindow).Format("2006-01-02 15:04 MST")
			if !ok || !strings.Contains(e.Reason, "excluded until "+until) {
				m, _ := s.st.MemberGet(ctx, refused.Member.ID)
				t.Fatalf("after the refusal: queued %v (%q), member %s %q; want queued with the pool excluded", ok, e.Reason, m.State, m.Reason)
			}
			// Before the window ends a drain leaves it there, though the
			// refusing pool has room again.
			advance(s.FailedPoolWindow - time.Minute)
			if n, err := s.DrainQueue(ctx, model.KindServer); err != nil || n != 0 {
				t.Fatalf("drain inside the window placed %d (%v), want 0", n, err)
			}
			if _, ok := queued(refused.Member); !ok {
				t.Fatal("left the queue inside the exclusion window")
			}
			// After it, the next drain places it on that pool again.
			advance(2 * time.Minute)
			if n, err := s.DrainQueue(ctx, model.KindServer); err != nil || n != 1 {
				t.Fatalf("drain after the window placed %d (%v), want 1", n, err)
			}
			if seat, ok := seatOf(refused.Member); !ok || seat.PoolID != refusedPool.ID {
				t.Fatalf("after the exclusion lapsed: seat %+v (%v), want one on %s", seat, ok, refusedPool.Name)
			}

			// Retries spent on a retryable failure: the seat is released
			// (a timed-out call may have landed) and, once it is, the member
			// is placed on the same pool again; nothing excludes it.
			if err := s.DeliveryFailed(ctx, other.SeatID, provider.Retryable, provider.Errorf(provider.Retryable, "HTTP 503")); err != nil {
				t.Fatal(err)
			}
			if err := s.Released(ctx, other.SeatID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DrainQueue(ctx, model.KindServer); err != nil {
				t.Fatal(err)
			}
			if seat, ok := seatOf(other.Member); !ok || seat.Pool != other.Pool {
				e, _ := queued(other.Member)
				t.Fatalf("after a retryable failure and the release: seat %+v (%v), queue reason %q; want a seat on %s", seat, ok, e.Reason, other.Pool)
			}
		})
	}
}
