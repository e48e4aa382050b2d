-- berth schema v7 (SQLite): the answers of requests sent with an
-- Idempotency-Key (POST /api/v1/codes/batch, POST /api/v1/accounts/batch).
-- A row is written (status 0: in progress) before the work starts and given
-- the answer once it is done; a retry with the same key, caller and route
-- gets that answer again (store/idempotency.go, api/idempotency.go). body is
-- sealed (it may hold redeem codes in clear); rows live 24 hours.
CREATE TABLE idempotency_keys (
    id           INTEGER PRIMARY KEY,
    idem_key     TEXT    NOT NULL,
    caller       TEXT    NOT NULL,
    route        TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    body         BLOB,
    created_at   INTEGER NOT NULL,
    UNIQUE (caller, route, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
