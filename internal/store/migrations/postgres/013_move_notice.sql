-- berth schema v13 (PostgreSQL): the user is told of a finished move.
-- why keeps the reason a move was started with (moves.reason is overwritten
-- with the outcome when it ends); notified_at is when the user's e-mail
-- about the finished move went out (0: not yet), so the move_notice job
-- sends it once (package notify, MoveMailer). The index finds a member's
-- latest finished move for the public status page.
ALTER TABLE moves ADD COLUMN why TEXT NOT NULL DEFAULT '';
ALTER TABLE moves ADD COLUMN notified_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX moves_member_done ON moves (member_id, id) WHERE state = 'done';
