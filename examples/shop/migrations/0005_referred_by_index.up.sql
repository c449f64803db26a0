CREATE INDEX CONCURRENTLY IF NOT EXISTS users_referred_by_idx ON users (referred_by);
