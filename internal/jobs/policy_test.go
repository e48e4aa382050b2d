package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// The delivery policy: a permanent answer ends a seat's delivery at once; a
// retryable one only when both the attempts and the retry span are spent.
func TestGiveUp(t *testing.T) {
	q := &Queue{cfg: Config{MaxDeliveryAttempts: 5, DeliveryRetryFor: time.Hour}}
	now := time.Now()
	cases := []struct {
		class   provider.Class
		attempt int
		since   time.Time
		want    bool
	}{
		{provider.MemberPermanent, 1, now, true},
		{provider.PoolPermanent, 1, now, true},
		{provider.Retryable, 1, now, false},
		{provider.Retryable, 50, now, false},                       // many tries, span not spent
		{provider.Retryable, 4, now.Add(-2 * time.Hour), false},    // span spent, tries not
		{provider.Retryable, 5, now.Add(-2 * time.Hour), true},     // both spent
		{provider.Retryable, 5, now.Add(-59 * time.Minute), false}, // a minute to go
	}
	for _, c := range cases {
		if got := q.giveUp(c.class, c.attempt, c.since); got != c.want {
			t.Errorf("giveUp(%s, attempt %d, %s ago) = %v, want %v", c.class, c.attempt, now.Sub(c.since).Round(time.Minute), got, c.want)
		}
	}
}

// The wait between tries follows the backoff, or the provider's
// Retry-After, and never exceeds DeliveryRetryMaxDelay, so a member is
// seated soon after the provider recovers.
func TestRetryDelay(t *testing.T) {
	q := &Queue{cfg: Config{Backoff: func(n int) time.Duration { return time.Duration(n) * 10 * time.Second },
		DeliveryRetryMaxDelay: time.Minute}}
	if d := q.retryDelay(2, errors.New("boom")); d != 20*time.Second {
		t.Errorf("after attempt 2: %s, want the backoff's 20s", d)
	}
	if d := q.retryDelay(100, errors.New("boom")); d != time.Minute {
		t.Errorf("after attempt 100: %s, want the 1m cap", d)
	}
	if d := q.retryDelay(1, &provider.Error{Class: provider.Retryable, RetryAfter: 30 * time.Second, Err: errors.New("429")}); d != 30*time.Second {
		t.Errorf("with Retry-After 30s: %s", d)
	}
	if d := q.retryDelay(1, &provider.Error{Class: provider.Retryable, RetryAfter: time.Hour, Err: errors.New("429")}); d != time.Minute {
		t.Errorf("with Retry-After 1h: %s, want the 1m cap", d)
	}
}

func TestExpBackoff(t *testing.T) {
	b := ExpBackoff(time.Second, 8*time.Second)
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 40: 8 * time.Second} {
		for range 20 {
			if d := b(n); d < want*8/10 || d > want*12/10 {
				t.Fatalf("attempt %d: %s, want %s ±20%%", n, d, want)
			}
		}
	}
}

// On SQLite the process holding the database's lock retries at once the
// jobs a dead process left running, and drops its leadership; on
// PostgreSQL (shared by live replicas) it touches nothing.
func TestRetryOrphans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := storetest.Open(t, d)
		if err := Migrate(ctx, st); err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		q, err := New(ctx, st, alloc.New(st, nil, log), Config{}, log)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return q.Remove(ctx, tx, 42) }); err != nil {
			t.Fatal(err)
		}
		// As a process killed while working it would leave the job.
		if _, err := st.DB.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, max_attempts = 1`); err != nil {
			t.Fatal(err)
		}
		n, err := retryOrphans(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		var state string
		var maxAttempts int
		if err := st.DB.QueryRowContext(ctx, `SELECT state, max_attempts FROM river_job`).Scan(&state, &maxAttempts); err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%d retried, state %s, max_attempts %d", n, state, maxAttempts)
		want := "1 retried, state available, max_attempts 2"
		if d == store.Postgres {
			want = "0 retried, state running, max_attempts 1"
		}
		if got != want {
			t.Errorf("%s: %s, want %s", d, got, want)
		}
	})
}
