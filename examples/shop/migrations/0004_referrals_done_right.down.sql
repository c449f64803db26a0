SET lock_timeout = '2s';
ALTER TABLE users DROP COLUMN IF EXISTS referred_by;
