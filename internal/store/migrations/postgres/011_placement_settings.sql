-- berth schema v11 (PostgreSQL): placement settings (issue 14 §6, docs/design.md,
-- "Placement"). A strategy stored per pool kind and group ('' for the kind's
-- default), so queued and moved members are placed under the strategy of
-- their first placement; a pool's weight (its share of new members); labels
-- on redeem codes beyond their group.
CREATE TABLE placement_settings (
    kind       TEXT    NOT NULL,
    group_name TEXT    NOT NULL DEFAULT '',
    strategy   TEXT    NOT NULL CHECK (strategy IN ('pack','spread')),
    updated_by TEXT    NOT NULL DEFAULT '',
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (kind, group_name)
);
ALTER TABLE pools ADD COLUMN weight INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 1);
ALTER TABLE codes ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
