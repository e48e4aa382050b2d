-- berth schema v5 (PostgreSQL): queue order from a per-kind ticket counter.
-- An enqueue takes its kind's next ticket with UPDATE … RETURNING on the
-- kind's queue_seq row, whose row lock it holds until its transaction ends,
-- so enqueues of one kind (on every replica) take turns and a position
-- counted after the ticket is exact (store/queue.go, QueuePush).
CREATE TABLE queue_seq (
    kind TEXT   PRIMARY KEY,
    n    BIGINT NOT NULL
);
ALTER TABLE queue ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE queue SET seq = id;
INSERT INTO queue_seq (kind, n) SELECT kind, MAX(seq) FROM queue GROUP BY kind;
INSERT INTO queue_seq (kind, n) VALUES ('server', 0), ('team', 0) ON CONFLICT (kind) DO NOTHING;
DROP INDEX queue_order;
CREATE INDEX queue_order ON queue (kind, is_move DESC, seq);
