-- berth schema v6 (SQLite): reconcile runs asked for through the API.
-- POST /api/v1/pools/{id}/reconcile writes a run and enqueues its job in one
-- transaction; the job (jobs/jobs.go) writes the report here, and
-- GET /api/v1/pools/{id}/reconcile/{run} reads it (store/reconcile_runs.go).
CREATE TABLE reconcile_runs (
    id          INTEGER PRIMARY KEY,
    pool_id     INTEGER NOT NULL,
    pool        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    options     TEXT    NOT NULL,
    report      TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    actor       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reconcile_runs_pool ON reconcile_runs (pool_id, id);
