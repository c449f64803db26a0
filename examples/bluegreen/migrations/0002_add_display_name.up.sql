-- migsafe: phase=expand
-- Release 2.0.0 shows display_name and writes both columns, so 1.0.0 keeps working.
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN display_name text;
