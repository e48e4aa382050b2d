package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Console users, their browser sessions and personal API tokens. Passwords
// arrive already hashed (package auth); session and token secrets arrive as
// their hex SHA-256, so nothing here can be replayed from a database dump.

// User is a console user as stored.
type User struct {
	ID           int64
	Name         string
	PasswordHash string
	Role         string
	CreatedAt    time.Time
	Disabled     bool
}

// users.failed_logins and users.locked_until are no longer used: failed
// sign-ins are counted per (name, address) in login_throttle (migration 004).
const userColumns = `id, name, password_hash, role, created_at, disabled`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, disabled int64
	if err := row.Scan(&u.ID, &u.Name, &u.PasswordHash, &u.Role, &created, &disabled); err != nil {
		return u, err
	}
	u.CreatedAt = fromMicros(created)
	u.Disabled = disabled != 0
	return u, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// UserCreate inserts a user; a taken name gives ErrConflict.
func (q *Queries) UserCreate(ctx context.Context, name, passwordHash, role string) (User, error) {
	u, err := scanUser(q.db.QueryRowContext(ctx, `
		INSERT INTO users (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO NOTHING
		RETURNING `+userColumns, name, passwordHash, role, micros(q.now())))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, ErrConflict)
	}
	return u, err
}

// UserCreateFirst inserts a user only when there is no user at all; it
// reports whether it did. Replicas starting together create one first user.
func (q *Queries) UserCreateFirst(ctx context.Context, name, passwordHash, role string) (bool, error) {
	res, err := q.db.ExecContext(ctx, `
		INSERT INTO users (name, password_hash, role, created_at)
		SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM users)
		ON CONFLICT (name) DO NOTHING`, name, passwordHash, role, micros(q.now()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UserCount counts users.
func (q *Queries) UserCount(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// UserGet returns a user by id.
func (q *Queries) UserGet(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, notFound(err, fmt.Sprintf("user %d", id))
}

// UserByName returns a user by name.
func (q *Queries) UserByName(ctx context.Context, name string) (User, error) {
	u, err := scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	return u, notFound(err, fmt.Sprintf("user %q", name))
}

// UserList returns every user by id.
func (q *Queries) UserList(ctx context.Context) ([]User, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
	return scanAll(rows, err, scanUser)
}

func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// UserSetPassword replaces a user's password hash.
func (q *Queries) UserSetPassword(ctx context.Context, id int64, passwordHash string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, id, passwordHash)
	return affected(res, err, fmt.Sprintf("user %d", id))
}

// ErrLastAdmin refuses a change that would leave no enabled admin.
var ErrLastAdmin = errors.New("it is the last enabled admin: make another user admin first")

// lastAdminGuard is true when changing user $1 away from an enabled admin
// still leaves another enabled admin.
const lastAdminGuard = `(role <> 'admin' OR disabled = 1 OR
	(SELECT COUNT(*) FROM users o WHERE o.role = 'admin' AND o.disabled = 0 AND o.id <> $1) > 0)`

// UserSetRole changes a user's role. Demoting the last enabled admin gives
// ErrLastAdmin.
func (q *Queries) UserSetRole(ctx context.Context, id int64, role string) error {
	guard := "TRUE"
	if role != "admin" {
		guard = lastAdminGuard
	}
	return q.userUpdateGuarded(ctx, id, `UPDATE users SET role = $2 WHERE id = $1 AND `+guard, role)
}

// UserSetDisabled disables or enables a user. Disabling the last enabled
// admin gives ErrLastAdmin.
func (q *Queries) UserSetDisabled(ctx context.Context, id int64, disabled bool) error {
	guard := "TRUE"
	if disabled {
		guard = lastAdminGuard
	}
	return q.userUpdateGuarded(ctx, id, `UPDATE users SET disabled = $2 WHERE id = $1 AND `+guard, boolInt(disabled))
}

// UserDelete deletes a user; its sessions and API tokens go with it (the
// foreign keys cascade). Deleting the last enabled admin gives
// ErrLastAdmin; an unknown id gives ErrNotFound.
func (q *Queries) UserDelete(ctx context.Context, id int64) error {
	return q.userUpdateGuarded(ctx, id, `DELETE FROM users WHERE id = $1 AND `+lastAdminGuard)
}

// userUpdateGuarded runs query (user $1, then args) and tells a guard that
// held it back (ErrLastAdmin) from an unknown user (ErrNotFound).
func (q *Queries) userUpdateGuarded(ctx context.Context, id int64, query string, args ...any) error {
	res, err := q.db.ExecContext(ctx, query, append([]any{id}, args...)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	if _, err := q.UserGet(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("user %d: %w", id, ErrLastAdmin)
}

// LoginThrottle is the failed sign-ins of one user name from one client
// address (package auth decides the waits).
type LoginThrottle struct {
	Failures     int
	LastFailure  time.Time
	BlockedUntil time.Time // zero when not blocked
}

// LoginThrottleGet returns the failed sign-ins of name from addr (zero when
// none).
func (q *Queries) LoginThrottleGet(ctx context.Context, name, addr string) (LoginThrottle, error) {
	var t LoginThrottle
	var last, blocked int64
	err := q.db.QueryRowContext(ctx, `SELECT failures, last_failure, blocked_until FROM login_throttle
		WHERE name = $1 AND addr = $2`, name, addr).Scan(&t.Failures, &last, &blocked)
	if errors.Is(err, sql.ErrNoRows) {
		return LoginThrottle{}, nil
	}
	t.LastFailure, t.BlockedUntil = fromMicros(last), optMicros(blocked)
	return t, err
}

// LoginThrottleFail counts one failed sign-in of name from addr at now, in
// one statement (concurrent failures all count, on every replica); a count
// whose last failure is before forgetBefore starts again at 1. It returns
// the new count.
func (q *Queries) LoginThrottleFail(ctx context.Context, name, addr string, now, forgetBefore time.Time) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO login_throttle (name, addr, failures, last_failure) VALUES ($1, $2, 1, $3)
		ON CONFLICT (name, addr) DO UPDATE SET
			failures      = CASE WHEN login_throttle.last_failure < $4 THEN 1 ELSE login_throttle.failures + 1 END,
			blocked_until = CASE WHEN login_throttle.last_failure < $4 THEN 0 ELSE login_throttle.blocked_until END,
			last_failure  = excluded.last_failure
		RETURNING failures`, name, addr, micros(now), micros(forgetBefore)).Scan(&n)
	return n, err
}

// LoginThrottleBlock makes addr wait until until before it may try name
// again (a later block already set stays).
func (q *Queries) LoginThrottleBlock(ctx context.Context, name, addr string, until time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE login_throttle SET blocked_until = $3
		WHERE name = $1 AND addr = $2 AND blocked_until < $3`, name, addr, micros(until))
	return err
}

// LoginThrottleClear forgets the failed sign-ins of name: from addr only, or
// from every address when addr is "".
func (q *Queries) LoginThrottleClear(ctx context.Context, name, addr string) error {
	var err error
	if addr == "" {
		_, err = q.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE name = $1`, name)
	} else {
		_, err = q.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE name = $1 AND addr = $2`, name, addr)
	}
	return err
}

// LoginThrottlePurge forgets counts whose last failure is before before and
// that block nobody at now.
func (q *Queries) LoginThrottlePurge(ctx context.Context, before, now time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE last_failure < $1 AND blocked_until <= $2`,
		micros(before), micros(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// LoginThrottleSummary returns, per user name with failed sign-ins since
// since, their number (all addresses) and the latest time any address must
// wait until.
func (q *Queries) LoginThrottleSummary(ctx context.Context, since time.Time) (map[string]LoginThrottle, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT name, CAST(SUM(failures) AS BIGINT), MAX(last_failure), MAX(blocked_until)
		FROM login_throttle WHERE last_failure >= $1 GROUP BY name`, micros(since))
	out := map[string]LoginThrottle{}
	err = scanEach(rows, err, func(r rowScanner) error {
		var name string
		var n, last, blocked int64
		if err := r.Scan(&name, &n, &last, &blocked); err != nil {
			return err
		}
		out[name] = LoginThrottle{Failures: int(n), LastFailure: fromMicros(last), BlockedUntil: optMicros(blocked)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Session is a browser session as stored.
type Session struct {
	ID        int64
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	LastSeen  time.Time
}

// SessionCreate stores a session under the hash of its token.
func (q *Queries) SessionCreate(ctx context.Context, tokenHash string, userID int64, expires time.Time) error {
	now := micros(q.now())
	_, err := q.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen)
		VALUES ($1, $2, $3, $4, $3)`, tokenHash, userID, now, micros(expires))
	return err
}

// SessionUser returns a live session (not expired at now) and its user,
// which may be disabled: the caller decides. ErrNotFound otherwise.
func (q *Queries) SessionUser(ctx context.Context, tokenHash string, now time.Time) (User, Session, error) {
	var s Session
	var created, expires, seen, ucreated, disabled int64
	var u User
	err := q.db.QueryRowContext(ctx, `
		SELECT s.id, s.user_id, s.created_at, s.expires_at, s.last_seen,
		       u.id, u.name, u.password_hash, u.role, u.created_at, u.disabled
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, micros(now)).Scan(
		&s.ID, &s.UserID, &created, &expires, &seen,
		&u.ID, &u.Name, &u.PasswordHash, &u.Role, &ucreated, &disabled)
	if err != nil {
		return u, s, notFound(err, "session")
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeen = fromMicros(created), fromMicros(expires), fromMicros(seen)
	u.CreatedAt, u.Disabled = fromMicros(ucreated), disabled != 0
	return u, s, nil
}

// SessionTouch slides a session's expiry and records when it was seen.
func (q *Queries) SessionTouch(ctx context.Context, id int64, seen, expires time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE sessions SET last_seen = $2, expires_at = $3 WHERE id = $1`,
		id, micros(seen), micros(expires))
	return err
}

// SessionDelete ends one session; it reports whether one was ended.
func (q *Queries) SessionDelete(ctx context.Context, tokenHash string) (bool, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// SessionDeleteUser ends every session of a user.
func (q *Queries) SessionDeleteUser(ctx context.Context, userID int64) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return err
}

// SessionPurge deletes sessions expired at now.
func (q *Queries) SessionPurge(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, micros(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// APIToken is a personal API token as stored (never the token itself).
type APIToken struct {
	ID        int64
	UserID    int64
	Name      string
	CreatedAt time.Time
	LastUsed  time.Time // zero when never used
}

const tokenColumns = `id, user_id, name, created_at, last_used`

func scanToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	var created, used int64
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &created, &used); err != nil {
		return t, err
	}
	t.CreatedAt, t.LastUsed = fromMicros(created), optMicros(used)
	return t, nil
}

// TokenCreate stores a personal API token under the hash of its secret.
func (q *Queries) TokenCreate(ctx context.Context, tokenHash string, userID int64, name string) (APIToken, error) {
	return scanToken(q.db.QueryRowContext(ctx, `INSERT INTO api_tokens (token_hash, user_id, name, created_at)
		VALUES ($1, $2, $3, $4) RETURNING `+tokenColumns, tokenHash, userID, name, micros(q.now())))
}

// TokenList returns a user's tokens by id.
func (q *Queries) TokenList(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = $1 ORDER BY id`, userID)
	return scanAll(rows, err, scanToken)
}

// TokenDelete revokes a token of a user; ErrNotFound when the user has no
// token with this id.
func (q *Queries) TokenDelete(ctx context.Context, userID, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, id, userID)
	return affected(res, err, fmt.Sprintf("token %d", id))
}

// TokenUser returns the token with this hash and its user (which may be
// disabled: the caller decides); ErrNotFound otherwise.
func (q *Queries) TokenUser(ctx context.Context, tokenHash string) (User, APIToken, error) {
	t, err := scanToken(q.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return User{}, t, notFound(err, "token")
	}
	u, err := q.UserGet(ctx, t.UserID)
	return u, t, err
}

// TokenTouch records when a token was last used.
func (q *Queries) TokenTouch(ctx context.Context, id int64, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE api_tokens SET last_used = $2 WHERE id = $1`, id, micros(at))
	return err
}
