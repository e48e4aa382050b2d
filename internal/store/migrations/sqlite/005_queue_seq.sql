-- berth schema v5 (SQLite): queue order from a per-kind ticket counter.
-- An enqueue takes its kind's next ticket with UPDATE … RETURNING on the
-- kind's queue_seq row (one writer at a time on SQLite; on PostgreSQL the
-- row lock makes enqueues of one kind take turns across replicas), so a
-- position counted after the ticket is exact (store/queue.go, QueuePush).
CREATE TABLE queue_seq (
    kind TEXT   PRIMARY KEY,
    n    INTEGER NOT NULL
);
ALTER TABLE queue ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE queue SET seq = id;
INSERT INTO queue_seq (kind, n) SELECT kind, MAX(seq) FROM queue GROUP BY kind;
INSERT INTO queue_seq (kind, n) VALUES ('server', 0), ('team', 0) ON CONFLICT (kind) DO NOTHING;
DROP INDEX queue_order;
CREATE INDEX queue_order ON queue (kind, is_move DESC, seq);
