-- berth schema v2 (SQLite): redeem codes, moves, rate limits, expiry notices.
CREATE TABLE codes (
    id           INTEGER PRIMARY KEY,
    lookup       TEXT    NOT NULL UNIQUE,
    sealed       BLOB    NOT NULL,
    hint         TEXT    NOT NULL,
    group_name   TEXT    NOT NULL DEFAULT '',
    max_uses     INTEGER NOT NULL CHECK (max_uses >= 1),
    used_count   INTEGER NOT NULL DEFAULT 0 CHECK (used_count >= 0),
    bound_email  TEXT    NOT NULL DEFAULT '',
    valid_for    INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER NOT NULL DEFAULT 0,
    activated_at INTEGER NOT NULL DEFAULT 0,
    ends_at      INTEGER NOT NULL DEFAULT 0,
    rebind_limit INTEGER NOT NULL DEFAULT 0 CHECK (rebind_limit >= 0),
    rebind_count INTEGER NOT NULL DEFAULT 0 CHECK (rebind_count >= 0),
    status       TEXT    NOT NULL CHECK (status IN ('unused','bound','expired','disabled')),
    batch        TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE INDEX codes_email ON codes (bound_email);
CREATE INDEX codes_ends ON codes (status, ends_at);
CREATE INDEX codes_hint ON codes (hint);

ALTER TABLE seats ADD COLUMN code_id INTEGER REFERENCES codes (id);
CREATE INDEX seats_code ON seats (code_id);

CREATE TABLE moves (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members (id),
    from_seat   INTEGER NOT NULL REFERENCES seats (id),
    to_seat     INTEGER REFERENCES seats (id),
    code_id     INTEGER REFERENCES codes (id),
    paid        INTEGER NOT NULL DEFAULT 0,
    state       TEXT    NOT NULL CHECK (state IN ('pending','done','failed','cancelled')),
    reason      TEXT    NOT NULL DEFAULT '',
    actor       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX moves_state ON moves (state, created_at);
CREATE UNIQUE INDEX moves_one_pending ON moves (from_seat) WHERE state = 'pending';

CREATE TABLE rate_events (
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX rate_events_key ON rate_events (key, at);

CREATE TABLE expiry_notices (
    code_id   INTEGER NOT NULL REFERENCES codes (id),
    threshold INTEGER NOT NULL,
    sent_at   INTEGER NOT NULL,
    PRIMARY KEY (code_id, threshold)
);

ALTER TABLE history ADD COLUMN code_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX history_code ON history (code_id, action);
