-- berth schema v8 (PostgreSQL): the fleet's time series, for the dashboard's
-- charts and GET /api/v1/fleet/samples. The sample job (jobs/jobs.go) writes
-- one row per pool kind and group label every BERTH_FLEET_SAMPLE_EVERY
-- (default 5m): the pools' summed capacity and use, and the kind's queue
-- depth (the queue is per kind, so every row of one kind and time carries
-- the same queued). Recomputing this from history at 100k members per page
-- view would be far too slow; a few rows every few minutes are cheap. The
-- sweep deletes rows older than 90 days (store/fleet_samples.go).
CREATE TABLE fleet_samples (
    at       BIGINT  NOT NULL,
    kind     TEXT    NOT NULL,
    grp      TEXT    NOT NULL,
    pools    BIGINT  NOT NULL,
    capacity BIGINT  NOT NULL,
    used     BIGINT  NOT NULL,
    queued   BIGINT  NOT NULL,
    PRIMARY KEY (at, kind, grp)
);
