SET lock_timeout = '2s';
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_referred_by_fkey;
DROP INDEX CONCURRENTLY IF EXISTS users_referred_by_idx;
ALTER TABLE users DROP COLUMN IF EXISTS referred_by;
