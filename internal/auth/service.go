package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/berthhq/berth/internal/clientip"
	"github.com/berthhq/berth/internal/ratelimit"
	"github.com/berthhq/berth/internal/store"
)

// Errors of the Service. The HTTP layers map them: ErrNoCredentials,
// ErrBadToken, ErrNoSession and ErrBadCredentials to 401, *LockedError and
// *RateError to 429 with Retry-After, ErrInvalid to 422, store.ErrNotFound
// to 404, store.ErrConflict and store.ErrLastAdmin to 409.
var (
	// ErrNoCredentials: the request carries neither a bearer token nor a
	// session cookie.
	ErrNoCredentials = errors.New("not signed in: sign in, or send Authorization: Bearer <token>")
	// ErrBadToken: the bearer token is not the admin token nor a live
	// personal token of an enabled user.
	ErrBadToken = errors.New("the bearer token is not valid (revoked, mistyped, or its user is disabled): " +
		"send a personal API token (POST /api/v1/tokens) or the admin token")
	// ErrNoSession: the session cookie names no live session of an enabled
	// user (signed out, expired, or the user was disabled).
	ErrNoSession = errors.New("the session has ended (signed out, expired, or the user was disabled): sign in again")
	// ErrBadCredentials: unknown user, disabled user or wrong password
	// (one answer for all, so names cannot be probed).
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrInvalid wraps input the caller must fix.
	ErrInvalid = errors.New("invalid")
)

// LockedError refuses a sign-in with a user name from a client address that
// sent too many wrong passwords for it. It says nothing of whether the user
// exists (unknown names are counted alike) and holds back only that address:
// the user signs in from any other.
type LockedError struct {
	Until time.Time
	Wait  time.Duration // Until less the time of the refusal
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("too many failed sign-ins with this user name from your address: wait until %s UTC before trying it again",
		e.Until.UTC().Format("2006-01-02 15:04:05"))
}

// RetryAfter is how long until the address may try again.
func (e *LockedError) RetryAfter() time.Duration {
	if e.Wait > 0 {
		return e.Wait
	}
	return time.Until(e.Until)
}

// RateError refuses a sign-in from an address that tried too often.
type RateError struct{ Wait time.Duration }

func (e *RateError) Error() string {
	return fmt.Sprintf("too many sign-in attempts from this address; wait %d seconds", int(e.Wait.Seconds()+0.999))
}

// RetryAfter is how long to wait.
func (e *RateError) RetryAfter() time.Duration { return e.Wait }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Config configures a Service; zero fields take the defaults.
type Config struct {
	// Store is the database. A nil store serves only the admin token (the
	// API's docs tests run without a database).
	Store *store.Store
	// AdminTokenHash is the SHA-256 of the bootstrap admin token
	// (BERTH_ADMIN_TOKEN); zero: no admin token.
	AdminTokenHash [32]byte
	// Params are the password hashing costs (default DefaultParams).
	Params Params
	// SessionIdle ends a session not used for this long (default 12h); every
	// use slides it.
	SessionIdle time.Duration
	// SessionMax ends a session this long after sign-in whatever its use
	// (default 7 days).
	SessionMax time.Duration
	// MaxFailures failed sign-ins with one user name from one client
	// address (default 5; IPv6 addresses count by /64) make that address
	// wait before it may try that name again …
	MaxFailures int
	// … a minute, doubling with every further failure up to Lockout
	// (default 15 minutes). The counts live in the database (every replica
	// sees them) and are forgotten a day after the last failure or at a
	// good sign-in from that address. Other addresses, the owner's among
	// them, are never held back, and unknown names are counted like known
	// ones, so the answers do not tell which users exist.
	Lockout time.Duration
	// LoginPerMinute and LoginBurst limit sign-in attempts per client
	// address (default 10 a minute, bursts of 10).
	LoginPerMinute float64
	LoginBurst     int
	Log            *slog.Logger
}

// Password and user name rules.
const (
	MinPasswordLen = 12  // characters
	MaxPasswordLen = 512 // bytes
	// FirstAdminName is the user created on first start.
	FirstAdminName = "admin"
	// AdminTokenActor names the bootstrap admin token in history and audit.
	AdminTokenActor = "admin-token"
	// TokenPrefix starts every personal API token.
	TokenPrefix = "berth_pat_"
)

var userName = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// Service signs users in and out, keeps sessions and personal API tokens,
// manages users and writes the audit log. It implements Authenticator.
type Service struct {
	st        *store.Store
	admin     [32]byte
	hasAdm    bool
	params    Params
	idle      time.Duration
	max       time.Duration
	fails     int
	lockout   time.Duration
	limiter   atomic.Pointer[ratelimit.PerKey]
	hashing   chan struct{} // bounds concurrent argon2 runs (memory)
	dummy     string        // hash verified for unknown users, so timing does not tell
	dummyOnce sync.Once
	purged    atomic.Int64 // unix seconds of the last purge of old sign-in failure counts
	log       *slog.Logger
	now       func() time.Time
}

var _ Authenticator = (*Service)(nil)

// New builds a Service.
func New(cfg Config) *Service {
	s := &Service{st: cfg.Store, admin: cfg.AdminTokenHash, params: cfg.Params, idle: cfg.SessionIdle, max: cfg.SessionMax,
		fails: cfg.MaxFailures, lockout: cfg.Lockout, log: cfg.Log, hashing: make(chan struct{}, 2),
		now: func() time.Time { return time.Now().UTC() }}
	s.hasAdm = cfg.AdminTokenHash != [32]byte{}
	if s.params.Time == 0 {
		s.params = DefaultParams
	}
	if s.idle <= 0 {
		s.idle = 12 * time.Hour
	}
	if s.max <= 0 {
		s.max = 7 * 24 * time.Hour
	}
	if s.fails <= 0 {
		s.fails = 5
	}
	if s.lockout <= 0 {
		s.lockout = 15 * time.Minute
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	perMin, burst := cfg.LoginPerMinute, cfg.LoginBurst
	if perMin <= 0 {
		perMin = 10
	}
	if burst <= 0 {
		burst = 10
	}
	s.limiter.Store(newAddrLimiter(perMin/60, burst))
	return s
}

// SetLoginRate changes the per-address sign-in limit (tests that sign in
// often from one address).
func (s *Service) SetLoginRate(perMinute float64, burst int) {
	s.limiter.Store(newAddrLimiter(perMinute/60, burst))
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Policy returns the sign-in throttle: failures from one address for one
// name make that address wait, at most lockout.
func (s *Service) Policy() (failures int, lockout time.Duration) { return s.fails, s.lockout }

// SessionIdle is how long an unused session lives.
func (s *Service) SessionIdle() time.Duration { return s.idle }

// hash runs argon2id with the concurrency bound.
func (s *Service) hash(password string) string {
	s.hashing <- struct{}{}
	defer func() { <-s.hashing }()
	return HashPassword(password, s.params)
}

func (s *Service) verify(password, encoded string) bool {
	s.hashing <- struct{}{}
	defer func() { <-s.hashing }()
	ok, err := VerifyPassword(password, encoded)
	if err != nil {
		s.log.Error("stored password hash is unreadable", "err", err)
	}
	return ok
}

func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy = HashPassword("berth dummy password for unknown users", s.params) })
	return s.dummy
}

func sha(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NormalizeName lower-cases and trims a user name typed at sign-in.
func NormalizeName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// CheckName validates a new user's name.
func CheckName(name string) error {
	if !userName.MatchString(name) {
		return invalid("user name %q: use 1-64 lower-case letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name)
	}
	return nil
}

// CheckPassword validates a new password.
func CheckPassword(password string) error {
	if n := utf8.RuneCountInString(password); n < MinPasswordLen {
		return invalid("password: use at least %d characters (got %d)", MinPasswordLen, n)
	}
	if len(password) > MaxPasswordLen {
		return invalid("password: at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// UserInfo is a user as the management API and pages show it: never the
// password hash.
type UserInfo struct {
	ID       int64  `json:"id"`
	Name     string `json:"username"`
	Role     Role   `json:"role"`
	Disabled bool   `json:"disabled"`
	// FailedLogins counts the failed sign-ins with this name in the last
	// day, from every address.
	FailedLogins int `json:"failed_logins"`
	// LockedUntil is set while some address must wait before it may try
	// this name again (the user still signs in from any other address).
	LockedUntil time.Time `json:"locked_until,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
}

func (s *Service) info(u store.User, th map[string]store.LoginThrottle) UserInfo {
	i := UserInfo{ID: u.ID, Name: u.Name, Role: Role(u.Role), Disabled: u.Disabled, CreatedAt: u.CreatedAt}
	if t, ok := th[u.Name]; ok {
		i.FailedLogins = t.Failures
		if t.BlockedUntil.After(s.now()) {
			i.LockedUntil = t.BlockedUntil
		}
	}
	return i
}

// infos is the UserInfo of each of us, with its recent sign-in failures;
// err is the error of the users' lookup, returned as it is.
func (s *Service) infos(ctx context.Context, us []store.User, err error) ([]UserInfo, error) {
	if err != nil {
		return nil, err
	}
	th, err := s.throttles(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, len(us))
	for i, u := range us {
		out[i] = s.info(u, th)
	}
	return out, nil
}

// infoOf is infos for one user.
func (s *Service) infoOf(ctx context.Context, u store.User, err error) (UserInfo, error) {
	out, err := s.infos(ctx, []store.User{u}, err)
	if err != nil {
		return UserInfo{}, err
	}
	return out[0], nil
}

// throttles returns the recent sign-in failure counts per user name.
func (s *Service) throttles(ctx context.Context) (map[string]store.LoginThrottle, error) {
	return s.st.Reader().LoginThrottleSummary(ctx, s.now().Add(-throttleForget))
}

func caller(u store.User, via string) User {
	return User{ID: u.ID, Name: u.Name, Role: Role(u.Role), Via: via}
}

// ---- sign-in and sessions --------------------------------------------------

// throttleForget is how long a (name, address) failure count is kept after
// its last failure.
const throttleForget = 24 * time.Hour

// Login checks a password and opens a session. Attempts are limited per
// client address (remoteIP; an IPv6 address counts by its /64), and failed
// sign-ins are counted per (user name, address) in the database: after
// MaxFailures that address waits before it may try that name again (see
// Config.Lockout), while every other address, the owner's, goes on. Unknown
// and disabled users are answered exactly as a wrong password (the same
// error, the same argon2 work, the same counting), so the answers do not
// tell which users exist. Sign-ins and failures are written to the audit
// log.
func (s *Service) Login(ctx context.Context, username, password, remoteIP string) (string, User, error) {
	if s.st == nil {
		return "", User{}, ErrBadCredentials
	}
	addr := clientip.Key(remoteIP)
	if ok, wait := s.limiter.Load().Allow(addr, s.now()); !ok {
		return "", User{}, &RateError{Wait: wait}
	}
	// The dummy hash is made on the first attempt of either kind, so its
	// one-time cost does not tell unknown users apart either.
	dummy := s.dummyHash()
	name := NormalizeName(username)
	if len(password) > MaxPasswordLen || len(name) > 64 {
		// No stored password is this long: refuse without reading the user.
		s.verify("", dummy)
		return "", User{}, ErrBadCredentials
	}
	now := s.now()
	th, err := s.st.Reader().LoginThrottleGet(ctx, name, addr)
	if err != nil {
		return "", User{}, err
	}
	u, err := s.st.UserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", User{}, err
	}
	known := err == nil && !u.Disabled
	actor, target, reason, hash := "anonymous", "", "unknown or disabled user", dummy
	if known {
		actor, target, reason, hash = u.Name, userTarget(u.ID), "wrong password", u.PasswordHash
	}
	if th.BlockedUntil.After(now) {
		s.Audit(ctx, store.AuditEntry{Actor: actor, Action: "auth.login_locked", Target: target, RemoteIP: remoteIP, Status: 429})
		return "", User{}, &LockedError{Until: th.BlockedUntil, Wait: th.BlockedUntil.Sub(now)}
	}
	// The password is checked against the dummy hash for an unknown user,
	// and such a check never succeeds.
	if ok := s.verify(password, hash); !ok || !known {
		until, err := s.loginFailed(ctx, name, addr, now)
		if err != nil {
			return "", User{}, err
		}
		after, status := map[string]any{"reason": reason}, 401
		if !until.IsZero() {
			after["locked_until"], status = until, 429
			s.log.Warn("an address is made to wait after failed sign-ins", "user", name, "remote_ip", remoteIP, "until", until)
		}
		s.Audit(ctx, store.AuditEntry{Actor: actor, Action: "auth.login_failed", Target: target, RemoteIP: remoteIP,
			Status: status, After: jsonOf(after)})
		if !until.IsZero() {
			return "", User{}, &LockedError{Until: until, Wait: until.Sub(now)}
		}
		return "", User{}, ErrBadCredentials
	}
	if th.Failures > 0 {
		if err := s.st.LoginThrottleClear(ctx, name, addr); err != nil {
			return "", User{}, err
		}
	}
	if needsRehash(u.PasswordHash, s.params) {
		if err := s.st.UserSetPassword(ctx, u.ID, s.hash(password)); err != nil {
			s.log.Warn("rehashing a password with the current costs failed", "user", u.Name, "err", err)
		}
	}
	token := randomToken(32)
	now = s.now()
	if err := s.st.SessionCreate(ctx, sha(token), u.ID, now.Add(s.idle)); err != nil {
		return "", User{}, err
	}
	if _, err := s.st.SessionPurge(ctx, now); err != nil {
		s.log.Warn("purging expired sessions", "err", err)
	}
	s.Audit(ctx, store.AuditEntry{Actor: u.Name, Action: "auth.login", Target: userTarget(u.ID), RemoteIP: remoteIP, Status: 200})
	return token, caller(u, "session"), nil
}

// loginFailed counts a failed sign-in of name from addr and, from the
// MaxFailures-th on, makes addr wait: a minute, doubling with each further
// failure, at most Lockout. It returns the end of that wait (zero: none).
func (s *Service) loginFailed(ctx context.Context, name, addr string, now time.Time) (time.Time, error) {
	n, err := s.st.LoginThrottleFail(ctx, name, addr, now, now.Add(-throttleForget))
	if err != nil {
		return time.Time{}, err
	}
	if last := s.purged.Load(); now.Unix()-last >= 600 && s.purged.CompareAndSwap(last, now.Unix()) {
		if _, err := s.st.LoginThrottlePurge(ctx, now.Add(-throttleForget), now); err != nil {
			s.log.Warn("purging old sign-in failure counts", "err", err)
		}
	}
	if n < s.fails {
		return time.Time{}, nil
	}
	until := now.Add(s.throttleWait(n))
	return until, s.st.LoginThrottleBlock(ctx, name, addr, until)
}

// throttleWait is the wait after the failures-th failed sign-in (failures
// >= MaxFailures).
func (s *Service) throttleWait(failures int) time.Duration {
	w := time.Minute
	for i := s.fails; i < failures && w < s.lockout; i++ {
		w *= 2
	}
	return min(w, s.lockout)
}

// Logout ends a session (a no-op for an unknown token) and audits it.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" || s.st == nil {
		return nil
	}
	u, _, err := s.st.SessionUser(ctx, sha(token), s.now())
	ended, derr := s.st.SessionDelete(ctx, sha(token))
	if derr != nil {
		return derr
	}
	if ended && err == nil {
		if _, ok := FromContext(ctx); !ok {
			ctx = WithUser(ctx, caller(u, "session"))
		}
		s.Audit(ctx, store.AuditEntry{Action: "auth.logout", Target: userTarget(u.ID), RemoteIP: remoteIPFrom(ctx), Status: 204})
	}
	return nil
}

// Session returns the user of a live session token, sliding its expiry.
// A disabled user's sessions end.
func (s *Service) Session(ctx context.Context, token string) (User, error) {
	if token == "" || s.st == nil {
		return User{}, ErrNoSession
	}
	now := s.now()
	u, sess, err := s.st.Reader().SessionUser(ctx, sha(token), now)
	if errors.Is(err, store.ErrNotFound) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, err
	}
	if u.Disabled || now.Sub(sess.CreatedAt) >= s.max {
		s.st.SessionDelete(ctx, sha(token))
		return User{}, ErrNoSession
	}
	// Slide the expiry, at most once a minute per session.
	if now.Sub(sess.LastSeen) >= time.Minute {
		exp := now.Add(s.idle)
		if hard := sess.CreatedAt.Add(s.max); exp.After(hard) {
			exp = hard
		}
		if err := s.st.SessionTouch(ctx, sess.ID, now, exp); err != nil {
			s.log.Warn("sliding a session's expiry", "err", err)
		}
	}
	return caller(u, "session"), nil
}

// ---- tokens ---------------------------------------------------------------

// TokenUser returns the caller a bearer token stands for: the bootstrap
// admin token (role admin, Via "admin-token"), or a personal API token of an
// enabled user (the user's role, Via "token").
func (s *Service) TokenUser(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrBadToken
	}
	sum := sha256.Sum256([]byte(token))
	if s.hasAdm && subtle.ConstantTimeCompare(sum[:], s.admin[:]) == 1 {
		return User{Name: AdminTokenActor, Role: RoleAdmin, Via: "admin-token"}, nil
	}
	if s.st == nil || !strings.HasPrefix(token, TokenPrefix) {
		return User{}, ErrBadToken
	}
	u, t, err := s.st.Reader().TokenUser(ctx, hex.EncodeToString(sum[:]))
	if errors.Is(err, store.ErrNotFound) {
		return User{}, ErrBadToken
	}
	if err != nil {
		return User{}, err
	}
	if u.Disabled {
		return User{}, ErrBadToken
	}
	if now := s.now(); now.Sub(t.LastUsed) >= time.Minute {
		if err := s.st.TokenTouch(ctx, t.ID, now); err != nil {
			s.log.Warn("recording a token's use", "err", err)
		}
	}
	return caller(u, "token"), nil
}

// Token is a personal API token as listed: never the token itself.
type Token struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used,omitzero"`
}

func tokenInfo(t store.APIToken) Token {
	return Token{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsed: t.LastUsed}
}

// CreateToken makes a personal API token for a user. The token is returned
// this once; only its SHA-256 is stored. It acts with the user's role, as
// the role is at each use.
func (s *Service) CreateToken(ctx context.Context, userID int64, name string) (string, Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", Token{}, invalid("token name: give 1-100 characters saying what the token is for")
	}
	if userID == 0 {
		return "", Token{}, invalid("the admin token has no user to own a personal token: sign in as a user (for example %q)", FirstAdminName)
	}
	if _, err := s.st.UserGet(ctx, userID); err != nil {
		return "", Token{}, err
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := TokenPrefix + hex.EncodeToString(b)
	t, err := s.st.TokenCreate(ctx, sha(token), userID, name)
	if err != nil {
		return "", Token{}, err
	}
	return token, tokenInfo(t), nil
}

// ListTokens lists a user's tokens.
func (s *Service) ListTokens(ctx context.Context, userID int64) ([]Token, error) {
	ts, err := s.st.Reader().TokenList(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(ts))
	for i, t := range ts {
		out[i] = tokenInfo(t)
	}
	return out, nil
}

// RevokeToken deletes one of a user's tokens; it stops working at once.
func (s *Service) RevokeToken(ctx context.Context, userID, tokenID int64) error {
	return s.st.TokenDelete(ctx, userID, tokenID)
}

// ---- users ----------------------------------------------------------------

// EnsureFirstAdmin creates the user "admin" (role admin) when there is no
// user yet. With password empty a password is generated and returned
// (created=true) for the caller to print once; otherwise password (from
// BERTH_ADMIN_PASSWORD) is used and must pass CheckPassword. Later starts
// change nothing, whatever password says.
func (s *Service) EnsureFirstAdmin(ctx context.Context, password string) (generated string, created bool, err error) {
	n, err := s.st.UserCount(ctx)
	if err != nil || n > 0 {
		return "", false, err
	}
	pw := password
	if pw == "" {
		pw = randomToken(18) // 24 characters, 144 bits
	} else if err := CheckPassword(pw); err != nil {
		return "", false, fmt.Errorf("BERTH_ADMIN_PASSWORD: %w", err)
	}
	created, err = s.st.UserCreateFirst(ctx, FirstAdminName, s.hash(pw), string(RoleAdmin))
	if err != nil || !created {
		return "", false, err
	}
	s.Audit(ctx, store.AuditEntry{Actor: "system", Action: "auth.first_admin", Target: "user=" + FirstAdminName, Status: 201})
	if password == "" {
		return pw, true, nil
	}
	return "", true, nil
}

// CreateUser adds a user.
func (s *Service) CreateUser(ctx context.Context, name, password string, role Role) (UserInfo, error) {
	name = strings.TrimSpace(name)
	if err := CheckName(name); err != nil {
		return UserInfo{}, err
	}
	if !role.Valid() {
		return UserInfo{}, invalid("role %q: use viewer, operator or admin", role)
	}
	if err := CheckPassword(password); err != nil {
		return UserInfo{}, err
	}
	u, err := s.st.UserCreate(ctx, name, s.hash(password), string(role))
	// Failures counted for the name before it existed stay with the name.
	return s.infoOf(ctx, u, err)
}

// GetUser returns one user.
func (s *Service) GetUser(ctx context.Context, id int64) (UserInfo, error) {
	u, err := s.st.UserGet(ctx, id)
	return s.infoOf(ctx, u, err)
}

// ListUsers lists every user by id.
func (s *Service) ListUsers(ctx context.Context) ([]UserInfo, error) {
	us, err := s.st.Reader().UserList(ctx)
	return s.infos(ctx, us, err)
}

// SetPassword gives a user a new password, forgets the failed sign-ins with
// its name (every address may try again) and ends its sessions.
func (s *Service) SetPassword(ctx context.Context, id int64, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	if err := s.st.UserSetPassword(ctx, id, s.hash(password)); err != nil {
		return err
	}
	if u, err := s.st.UserGet(ctx, id); err == nil {
		if err := s.st.LoginThrottleClear(ctx, u.Name, ""); err != nil {
			return err
		}
	}
	return s.st.SessionDeleteUser(ctx, id)
}

// SetRole changes a user's role; it applies to the user's next request.
// The last enabled admin cannot be demoted (store.ErrLastAdmin).
func (s *Service) SetRole(ctx context.Context, id int64, role Role) error {
	if !role.Valid() {
		return invalid("role %q: use viewer, operator or admin", role)
	}
	return s.st.UserSetRole(ctx, id, string(role))
}

// SetDisabled disables a user (its sessions end; its tokens stop working
// while it is disabled) or enables it again. The last enabled admin cannot
// be disabled (store.ErrLastAdmin).
func (s *Service) SetDisabled(ctx context.Context, id int64, disabled bool) error {
	if err := s.st.UserSetDisabled(ctx, id, disabled); err != nil {
		return err
	}
	if disabled {
		return s.st.SessionDeleteUser(ctx, id)
	}
	return nil
}

// DeleteUser deletes a user: its sessions and API tokens stop working at
// once. The last enabled admin cannot be deleted (store.ErrLastAdmin).
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	if err := s.st.UserDelete(ctx, id); err != nil {
		return err
	}
	return s.st.SessionDeleteUser(ctx, id)
}

// DisableUser disables a user; see SetDisabled.
func (s *Service) DisableUser(ctx context.Context, id int64) error {
	return s.SetDisabled(ctx, id, true)
}

func userTarget(id int64) string { return fmt.Sprintf("id=%d", id) }
