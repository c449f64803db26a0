SET lock_timeout = '2s';
ALTER TABLE users ADD CONSTRAINT users_referred_by_fkey
    FOREIGN KEY (referred_by) REFERENCES users (id) NOT VALID;
