-- berth schema v4 (SQLite): sign-in throttle per (user name, client address).
-- Wrong passwords slow down only the address that sent them, for the name it
-- typed (known or not, so the answers never tell which users exist); the
-- owner signing in from another address is never held back. Replaces the
-- per-user lock (users.failed_logins and users.locked_until, now unused).
CREATE TABLE login_throttle (
    name          TEXT    NOT NULL,
    addr          TEXT    NOT NULL,
    failures      INTEGER NOT NULL CHECK (failures > 0),
    last_failure  INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, addr)
);
CREATE INDEX login_throttle_last ON login_throttle (last_failure);
UPDATE users SET failed_logins = 0, locked_until = 0 WHERE failed_logins <> 0 OR locked_until <> 0;
