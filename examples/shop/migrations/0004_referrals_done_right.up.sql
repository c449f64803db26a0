-- The same intent, written to keep the tables available. golang-migrate sends a file as
-- one query, which PostgreSQL runs as one transaction, so each step that must not share a
-- transaction with another gets a file of its own: the concurrent index build (0005) and
-- the validation of the NOT VALID foreign key (0007).
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN IF NOT EXISTS referred_by bigint;
