-- berth schema v9 (PostgreSQL): placement reasons kept as data beside their
-- English text, so the console can tell them in the reader's language
-- (model.Why, written as JSON by placement's Explanation.Why through alloc).
-- NULL for rows written before, and for reasons that are not a placement's:
-- those keep showing their text.
ALTER TABLE queue ADD COLUMN why TEXT;
ALTER TABLE members ADD COLUMN why TEXT;
ALTER TABLE history ADD COLUMN why TEXT;
