-- migsafe: phase=contract
-- Belongs to a later release that no longer writes name. Applied while 1.0.0 may still
-- be rolled back to, it is premature: 1.0.0 reads name.
SET lock_timeout = '2s';
ALTER TABLE users DROP COLUMN name;
