ALTER TABLE users VALIDATE CONSTRAINT users_referred_by_fkey;
