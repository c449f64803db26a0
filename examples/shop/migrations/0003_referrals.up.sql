-- Written in a hurry: every statement here locks a busy table for too long.
ALTER TABLE users ADD COLUMN referral_code uuid DEFAULT gen_random_uuid();
CREATE INDEX users_created_at_idx ON users (created_at);
ALTER TABLE orders ALTER COLUMN total TYPE bigint;
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0);
