-- The same intent, written to keep the tables available.
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN referred_by bigint;
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_referred_by_idx ON users (referred_by);
ALTER TABLE users ADD CONSTRAINT users_referred_by_fkey
    FOREIGN KEY (referred_by) REFERENCES users (id) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_referred_by_fkey;
