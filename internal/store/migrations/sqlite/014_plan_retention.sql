-- berth schema v14 (SQLite): finished plans are deleted after a retention.
-- finished_at is when a plan stopped being live: its expires_at while it is
-- not applied (set when it is made), then the time its apply last recorded
-- a result (the paced job's last move, a cancel). The sweep deletes the
-- plans with no paced move scheduled (pending 0) finished before now minus
-- BERTH_PLAN_RETENTION (store/plans.go, PlansDeleteFinishedBefore); no
-- other table references plans. Plans made before this version count from
-- their apply, or their expiry when never applied.
ALTER TABLE plans ADD COLUMN finished_at INTEGER NOT NULL DEFAULT 0;
UPDATE plans SET finished_at = CASE WHEN applied_at <> 0 THEN applied_at ELSE expires_at END;
CREATE INDEX plans_finished ON plans (finished_at) WHERE pending = 0;
