package auth_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A stranger's wrong passwords for admin hold back only the stranger's
// address: the owner signs in from another at once (finding 4 of issue 11:
// the per-user lock let anyone lock admin out).
func TestThrottleStrangerCannotLockOutOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s, st, _ := withUser(t, d, "admin", auth.RoleAdmin)
		var locked int
		for i := 1; i <= 10; i++ {
			_, _, err := s.Login(ctx, "admin", fmt.Sprintf("guess number %d", i), "10.0.0.9")
			var le *auth.LockedError
			switch {
			case errors.As(err, &le):
				locked++
			case !errors.Is(err, auth.ErrBadCredentials):
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		if locked != 6 {
			t.Fatalf("%d of 10 guesses were told to wait, want 6 (from the 5th on)", locked)
		}
		if _, u, err := s.Login(ctx, "admin", pw, "10.0.0.1"); err != nil || u.Name != "admin" {
			t.Fatalf("the owner from another address: %+v %v", u, err)
		}
		// The stranger still waits, even with the right password.
		var le *auth.LockedError
		if _, _, err := s.Login(ctx, "admin", pw, "10.0.0.9"); !errors.As(err, &le) {
			t.Fatalf("the stranger's address with the right password: %v", err)
		}
		// An IPv6 client counts by its /64: a new address in it waits too.
		for i := 0; i < 5; i++ {
			s.Login(ctx, "admin", "wrong wrong", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		}
		if _, _, err := s.Login(ctx, "admin", pw, "2001:db8:1:2::99"); !errors.As(err, &le) {
			t.Fatalf("another address of the same /64: %v", err)
		}
		if _, _, err := s.Login(ctx, "admin", pw, "2001:db8:1:3::1"); err != nil {
			t.Fatalf("another /64: %v", err)
		}
		// The count is in the database; refused attempts checked no password
		// and are not counted.
		if th, err := st.LoginThrottleGet(ctx, "admin", "10.0.0.9"); err != nil || th.Failures != 5 || !th.BlockedUntil.After(time.Now()) {
			t.Fatalf("stored count: %+v %v", th, err)
		}
	})
}

// The wait doubles per failure past the limit, capped by Lockout; a new
// password from an admin lets every address try again.
func TestThrottleBackoff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s, _, u := withUser(t, d, "dora", auth.RoleViewer)
		now := time.Now().UTC()
		s.SetClock(func() time.Time { return now })
		var waits []time.Duration
		for i := 1; i <= 9; i++ {
			_, _, err := s.Login(ctx, "dora", "wrong wrong wrong", "10.0.0.5")
			var le *auth.LockedError
			if errors.As(err, &le) {
				waits = append(waits, le.Until.Sub(now).Round(time.Second))
				if i < 9 {
					now = le.Until // wait it out
				}
			}
		}
		want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute}
		if fmt.Sprint(waits) != fmt.Sprint(want) {
			t.Fatalf("waits %v, want %v", waits, want)
		}
		users, err := s.ListUsers(ctx)
		if err != nil || users[0].FailedLogins != 9 || users[0].LockedUntil.IsZero() {
			t.Fatalf("the user list: %+v %v", users, err)
		}
		if err := s.SetPassword(ctx, u.ID, "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Login(ctx, "dora", "a brand new passphrase", "10.0.0.5"); err != nil {
			t.Fatalf("after a new password: %v", err)
		}
	})
}

// Unknown, disabled and known users get the same answers, attempt by
// attempt, including the wait.
func TestThrottleUnknownUserAnsweredAlike(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s, _, _ := withUser(t, d, "erin", auth.RoleViewer)
		now := time.Now().UTC()
		s.SetClock(func() time.Time { return now })
		for i := 1; i <= 7; i++ {
			_, _, known := s.Login(ctx, "erin", "wrong wrong wrong", "10.0.0.7")
			_, _, unknown := s.Login(ctx, "nobody", "wrong wrong wrong", "10.0.0.7")
			if known == nil || unknown == nil || known.Error() != unknown.Error() {
				t.Fatalf("attempt %d: known %v, unknown %v", i, known, unknown)
			}
		}
	})
}
