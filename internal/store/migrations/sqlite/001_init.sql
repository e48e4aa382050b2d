-- berth schema v1 (SQLite). Times are unix microseconds (UTC).
CREATE TABLE pools (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    kind              TEXT    NOT NULL CHECK (kind IN ('server','team')),
    capacity          INTEGER NOT NULL CHECK (capacity >= 0),
    used              INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= capacity),
    status            TEXT    NOT NULL CHECK (status IN ('active','paused','draining','banned','credential_invalid','offline')),
    status_message    TEXT    NOT NULL DEFAULT '',
    status_changed_at INTEGER NOT NULL,
    status_actor      TEXT    NOT NULL DEFAULT '',
    labels            TEXT    NOT NULL DEFAULT '{}',
    priority          INTEGER NOT NULL DEFAULT 0,
    provider_type     TEXT    NOT NULL,
    provider_config   BLOB    NOT NULL,
    probe_failures    INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
);

CREATE TABLE members (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('server','team')),
    external_id  TEXT    NOT NULL,
    affinity_key TEXT    NOT NULL DEFAULT '',
    labels       TEXT    NOT NULL DEFAULT '{}',
    file_name    TEXT    NOT NULL DEFAULT '',
    file_data    BLOB,
    state        TEXT    NOT NULL CHECK (state IN ('pending','placed','queued','failed')),
    reason       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (kind, external_id)
);
CREATE INDEX members_state ON members (state);
CREATE INDEX members_affinity ON members (affinity_key);

CREATE TABLE seats (
    id           INTEGER PRIMARY KEY,
    member_id    INTEGER NOT NULL REFERENCES members (id),
    pool_id      INTEGER NOT NULL REFERENCES pools (id),
    state        TEXT    NOT NULL CHECK (state IN ('reserved','provisioning','active','releasing','released','failed','release_failed')),
    move_from    INTEGER REFERENCES seats (id),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX seats_member ON seats (member_id);
CREATE INDEX seats_pool_state ON seats (pool_id, state);

CREATE TABLE queue (
    id           INTEGER PRIMARY KEY,
    member_id    INTEGER NOT NULL UNIQUE REFERENCES members (id),
    kind         TEXT    NOT NULL,
    is_move      INTEGER NOT NULL DEFAULT 0,
    from_seat    INTEGER REFERENCES seats (id),
    reason       TEXT    NOT NULL DEFAULT '',
    enqueued_at  INTEGER NOT NULL
);
CREATE INDEX queue_order ON queue (kind, is_move DESC, id);

CREATE TABLE history (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    member    TEXT    NOT NULL DEFAULT '',
    pool      TEXT    NOT NULL DEFAULT '',
    action    TEXT    NOT NULL,
    from_pool TEXT    NOT NULL DEFAULT '',
    to_pool   TEXT    NOT NULL DEFAULT '',
    reason    TEXT    NOT NULL DEFAULT '',
    actor     TEXT    NOT NULL
);
CREATE INDEX history_member ON history (member, id);
CREATE INDEX history_pool ON history (pool, id);
CREATE INDEX history_from ON history (from_pool, id);
CREATE INDEX history_to ON history (to_pool, id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
