-- berth schema v12 (PostgreSQL): what a plan measured, and its paced steps.
-- A plan keeps a summary of what it measured when planned (the rebalancer's
-- imbalance before and after, package alloc/plans); pending counts the
-- steps of an applied plan still waiting for the paced job (the
-- rebalance_step job runs at most BERTH_REBALANCE_MOVES_PER_MINUTE moves a
-- minute), so the job finds its plans without reading every plan.
ALTER TABLE plans ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE plans ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX plans_pending ON plans (id) WHERE pending > 0;
