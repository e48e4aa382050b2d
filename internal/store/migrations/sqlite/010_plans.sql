-- berth schema v10 (SQLite): plans, then apply (package alloc/plans).
-- POST /api/v1/plans stores the steps an action would take and what it read
-- (preconditions); POST /api/v1/plans/{id}/apply claims the row (applied_at
-- set once, so only one apply wins), checks the preconditions and applies
-- the steps; its result is kept here (store/plans.go).
CREATE TABLE plans (
    id            INTEGER PRIMARY KEY,
    action        TEXT    NOT NULL,
    params        TEXT    NOT NULL,
    steps         TEXT    NOT NULL,
    preconditions TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    applied_at    INTEGER NOT NULL DEFAULT 0,
    applied_by    TEXT    NOT NULL DEFAULT '',
    result        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX plans_expires ON plans (expires_at);
