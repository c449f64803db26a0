ALTER TABLE orders DROP CONSTRAINT orders_total_positive;
DROP INDEX users_created_at_idx;
ALTER TABLE users DROP COLUMN referral_code;
