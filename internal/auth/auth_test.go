package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// fast are cheap costs for tests that hash often; the format test uses the
// real ones.
var fast = auth.Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

const pw = "correct horse battery staple"

func TestHashFormat(t *testing.T) {
	start := time.Now()
	h := auth.HashPassword(pw, auth.DefaultParams)
	t.Logf("one argon2id hash with the default parameters: %s", time.Since(start))
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h) {
		t.Fatalf("hash %q is not PHC argon2id", h)
	}
	if h2 := auth.HashPassword(pw, auth.DefaultParams); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if ok, err := auth.VerifyPassword(pw, h); !ok || err != nil {
		t.Fatalf("verify right password: %v %v", ok, err)
	}
	if ok, err := auth.VerifyPassword(pw+"x", h); ok || err != nil {
		t.Fatalf("verify wrong password: %v %v", ok, err)
	}
}

func TestVerifyRejectsBadHashes(t *testing.T) {
	good := auth.HashPassword(pw, fast)
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":       "",
		"plain":       pw,
		"argon2i":     strings.Replace(good, "argon2id", "argon2i", 1),
		"version":     strings.Replace(good, "v=19", "v=16", 1),
		"huge memory": strings.Replace(good, "m=64,", "m=99999999,", 1),
		"zero time":   strings.Replace(good, "t=1,", "t=0,", 1),
		"trailing":    strings.Replace(good, "p=1$", "p=1x$", 1),
		"bad salt":    "$" + strings.Join([]string{parts[1], parts[2], parts[3], "!!!", parts[5]}, "$"),
		"short key":   "$" + strings.Join([]string{parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
	} {
		if ok, err := auth.VerifyPassword(pw, h); ok || !errors.Is(err, auth.ErrHashFormat) {
			t.Errorf("%s: %v %v, want ErrHashFormat", name, ok, err)
		}
	}
	// A flipped bit of the hash fails verification, without an error.
	b := []byte(good)
	b[len(b)-2] ^= 1
	if ok, _ := auth.VerifyPassword(pw, string(b)); ok {
		t.Error("a tampered hash verified")
	}
}

func TestRedact(t *testing.T) {
	in := `{"name":"p","provider":{"type":"sftp","password":"hunter2","private_key":"-----BEGIN","known_hosts":"h k",
		"host_key":"SHA256:x","nested":[{"api_token":"t0k","secret":"s"}]},"new_password":"p2","token":null,"count":12345678901234567890}`
	out := string(auth.Redact([]byte(in)))
	for _, secret := range []string{"hunter2", "BEGIN", "h k", "t0k", `"s"`, "p2"} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted %s still holds %s", out, secret)
		}
	}
	for _, keep := range []string{`"host_key":"SHA256:x"`, `"name":"p"`, `"token":null`, "12345678901234567890"} {
		if !strings.Contains(out, keep) {
			t.Errorf("redacted %s lost %s", out, keep)
		}
	}
	if got := string(auth.Redact([]byte(`password=hunter2`))); strings.Contains(got, "hunter2") || !strings.Contains(got, "unreadable") {
		t.Errorf("non-JSON body: %s", got)
	}
	if auth.Redact(nil) != nil {
		t.Error("empty body is not nil")
	}
}

func newService(t *testing.T, d store.Dialect) (*auth.Service, *store.Store) {
	st := storetest.Open(t, d)
	return auth.New(auth.Config{Store: st, Params: fast, AdminTokenHash: sha256.Sum256([]byte("bootstrap-token-0123456789"))}), st
}

// withUser is newService without the per-address sign-in limit (the
// throttle per name and address is what the caller tests), with one user.
func withUser(t *testing.T, d store.Dialect, name string, role auth.Role) (*auth.Service, *store.Store, auth.UserInfo) {
	t.Helper()
	s, st := newService(t, d)
	s.SetLoginRate(1e6, 1e6)
	u, err := s.CreateUser(context.Background(), name, pw, role)
	if err != nil {
		t.Fatal(err)
	}
	return s, st, u
}

func TestService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s, st := newService(t, d)

		// First admin: once, generated password.
		gen, created, err := s.EnsureFirstAdmin(ctx, "")
		if err != nil || !created || len(gen) < 20 {
			t.Fatalf("first admin: %q %v %v", gen, created, err)
		}
		if again, created, err := s.EnsureFirstAdmin(ctx, "another password here"); again != "" || created || err != nil {
			t.Fatalf("second start made a first admin again: %q %v %v", again, created, err)
		}
		tok, u, err := s.Login(ctx, " ADMIN ", gen, "10.0.0.1")
		if err != nil || u.Role != auth.RoleAdmin || u.Name != "admin" || u.Via != "session" || len(tok) < 40 {
			t.Fatalf("admin login: %+v %v", u, err)
		}
		if got, err := s.Session(ctx, tok); err != nil || got.Name != "admin" {
			t.Fatalf("session: %+v %v", got, err)
		}
		// The session token is stored hashed.
		var stored string
		if err := st.DB.QueryRow(`SELECT token_hash FROM sessions`).Scan(&stored); err != nil || strings.Contains(stored, tok) || len(stored) != 64 {
			t.Fatalf("stored session token %q %v", stored, err)
		}

		// Validation.
		if _, err := s.CreateUser(ctx, "Bad Name", pw, auth.RoleViewer); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("bad name: %v", err)
		}
		if _, err := s.CreateUser(ctx, "bob", "short", auth.RoleViewer); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("short password: %v", err)
		}
		if _, err := s.CreateUser(ctx, "bob", pw, "root"); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("bad role: %v", err)
		}
		bob, err := s.CreateUser(ctx, "bob", pw, auth.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, "bob", pw, auth.RoleViewer); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate: %v", err)
		}
		// Unknown users and wrong passwords get the same error.
		if _, _, err := s.Login(ctx, "nobody", pw, "10.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("unknown user: %v", err)
		}

		// Throttle: the 5th wrong password from one address makes that
		// address wait for that name, counted in the database.
		for i := 1; i <= 5; i++ {
			_, _, err := s.Login(ctx, "bob", "wrong wrong wrong", "10.0.0.2")
			var le *auth.LockedError
			if i < 5 && !errors.Is(err, auth.ErrBadCredentials) || i == 5 && !errors.As(err, &le) {
				t.Fatalf("wrong password %d: %v", i, err)
			}
		}
		var le *auth.LockedError
		if _, _, err := s.Login(ctx, "bob", pw, "10.0.0.2"); !errors.As(err, &le) || le.RetryAfter() < 50*time.Second {
			t.Fatalf("right password from the waiting address: %v", err)
		}
		// A second Service (another replica) sees the wait of that address.
		other := auth.New(auth.Config{Store: st, Params: fast})
		if _, _, err := other.Login(ctx, "bob", pw, "10.0.0.2"); !errors.As(err, &le) {
			t.Fatalf("other replica: %v", err)
		}
		// Another address is not held back.
		if _, _, err := other.Login(ctx, "bob", pw, "10.0.0.3"); err != nil {
			t.Fatalf("another address: %v", err)
		}
		// A good password after the wait forgets the count.
		s.SetClock(func() time.Time { return time.Now().UTC().Add(16 * time.Minute) })
		st.SetClock(func() time.Time { return time.Now().UTC().Add(16 * time.Minute) })
		bobTok, _, err := s.Login(ctx, "bob", pw, "10.0.0.2")
		if err != nil {
			t.Fatalf("after the wait: %v", err)
		}
		if th, err := st.LoginThrottleGet(ctx, "bob", "10.0.0.2"); err != nil || th.Failures != 0 {
			t.Fatalf("after a good password: %+v %v", th, err)
		}
		s.SetClock(func() time.Time { return time.Now().UTC() })
		st.SetClock(func() time.Time { return time.Now().UTC() })

		// Sessions end after the idle time without use, and at the hard limit.
		s.SetClock(func() time.Time { return time.Now().UTC().Add(13 * time.Hour) })
		if _, err := s.Session(ctx, bobTok); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("idle session: %v", err)
		}
		s.SetClock(func() time.Time { return time.Now().UTC() })
		// Using a session slides its expiry.
		tok2, _, _ := s.Login(ctx, "bob", pw, "10.0.0.2")
		for h := 1; h <= 30; h += 10 {
			at := time.Now().UTC().Add(time.Duration(h) * time.Hour)
			s.SetClock(func() time.Time { return at })
			if _, err := s.Session(ctx, tok2); err != nil {
				t.Fatalf("session used every 10h, at +%dh: %v", h, err)
			}
		}
		s.SetClock(func() time.Time { return time.Now().UTC().Add(8 * 24 * time.Hour) })
		if _, err := s.Session(ctx, tok2); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("session past 7 days: %v", err)
		}
		s.SetClock(func() time.Time { return time.Now().UTC() })

		// Logout ends a session.
		tok3, _, _ := s.Login(ctx, "bob", pw, "10.0.0.2")
		if err := s.Logout(ctx, tok3); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, tok3); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("after logout: %v", err)
		}

		// Tokens: stored hashed, the user's current role, revocable.
		secret, info, err := s.CreateToken(ctx, bob.ID, "ci")
		if err != nil || !strings.HasPrefix(secret, auth.TokenPrefix) {
			t.Fatalf("token: %q %v", secret, err)
		}
		if got, err := s.TokenUser(ctx, secret); err != nil || got.ID != bob.ID || got.Via != "token" || got.Role != auth.RoleViewer {
			t.Fatalf("token user: %+v %v", got, err)
		}
		if err := s.SetRole(ctx, bob.ID, auth.RoleOperator); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.TokenUser(ctx, secret); got.Role != auth.RoleOperator {
			t.Fatalf("token role after promotion: %s", got.Role)
		}
		var n int
		st.DB.QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1`, secret).Scan(&n)
		if n != 0 {
			t.Fatal("token stored in the clear")
		}
		if err := s.RevokeToken(ctx, bob.ID+1000, info.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking another user's token: %v", err)
		}
		if err := s.RevokeToken(ctx, bob.ID, info.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenUser(ctx, secret); !errors.Is(err, auth.ErrBadToken) {
			t.Fatalf("revoked token: %v", err)
		}
		// The bootstrap admin token.
		if got, err := s.TokenUser(ctx, "bootstrap-token-0123456789"); err != nil || got.Role != auth.RoleAdmin || got.Via != "admin-token" {
			t.Fatalf("admin token: %+v %v", got, err)
		}

		// Authenticate: a bad bearer token is refused even with a good cookie.
		tok4, _, _ := s.Login(ctx, "bob", pw, "10.0.0.2")
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(auth.SessionCookieFor(r, tok4))
		if got, err := s.Authenticate(r); err != nil || got.Name != "bob" {
			t.Fatalf("cookie: %+v %v", got, err)
		}
		r.Header.Set("Authorization", "Bearer nope")
		if _, err := s.Authenticate(r); !errors.Is(err, auth.ErrBadToken) {
			t.Fatalf("bad bearer with a good cookie: %v", err)
		}
		// Disabling ends sessions; a new password ends sessions too.
		if err := s.DisableUser(ctx, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, tok4); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("disabled user's session: %v", err)
		}
		if _, _, err := s.Login(ctx, "bob", pw, "10.0.0.2"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("disabled user's login: %v", err)
		}
		s.SetDisabled(ctx, bob.ID, false)
		tok5, _, _ := s.Login(ctx, "bob", pw, "10.0.0.2")
		if err := s.SetPassword(ctx, bob.ID, "a brand new password"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, tok5); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("session after a password change: %v", err)
		}

		// The last enabled admin stays.
		admins, _ := s.ListUsers(ctx)
		if err := s.SetRole(ctx, admins[0].ID, auth.RoleViewer); !errors.Is(err, store.ErrLastAdmin) {
			t.Fatalf("demoting the last admin: %v", err)
		}
		if err := s.DisableUser(ctx, admins[0].ID); !errors.Is(err, store.ErrLastAdmin) {
			t.Fatalf("disabling the last admin: %v", err)
		}

		// Audit rows were written for sign-ins, without passwords.
		rows, err := s.AuditList(ctx, store.AuditFilter{Limit: 1000})
		if err != nil || len(rows) < 10 {
			t.Fatalf("audit: %d rows %v", len(rows), err)
		}
		raw, _ := json.Marshal(rows)
		if strings.Contains(string(raw), pw) || strings.Contains(string(raw), gen) {
			t.Fatal("an audit row holds a password")
		}
	})
}

// The sign-in limit per address: a burst, then 429-style RateErrors, and
// other addresses are not affected.
func TestLoginRateLimit(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t, store.SQLite)
	s.SetLoginRate(1, 3)
	for i := 0; i < 3; i++ {
		if _, _, err := s.Login(ctx, "nobody", "x", "10.0.0.9"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	var re *auth.RateError
	if _, _, err := s.Login(ctx, "nobody", "x", "10.0.0.9"); !errors.As(err, &re) || re.RetryAfter() <= 0 {
		t.Fatalf("past the burst: %v", err)
	}
	if _, _, err := s.Login(ctx, "nobody", "x", "10.0.0.10"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("another address: %v", err)
	}
}

// Concurrent wrong passwords are all counted (the count is one statement).
func TestLockoutConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s, st, _ := withUser(t, d, "carl", auth.RoleViewer)
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.Login(ctx, "carl", "wrong wrong wrong", "10.0.0.1")
			}()
		}
		wg.Wait()
		got, err := st.LoginThrottleGet(ctx, "carl", "10.0.0.1")
		if err != nil || got.Failures != 4 {
			t.Fatalf("failures = %d after 4 concurrent wrong passwords (%v)", got.Failures, err)
		}
		var le *auth.LockedError
		if _, _, err := s.Login(ctx, "carl", "wrong wrong wrong", "10.0.0.1"); !errors.As(err, &le) {
			t.Fatalf("fifth: %v", err)
		}
	})
}
