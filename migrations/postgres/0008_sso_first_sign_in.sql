-- The account a session is in, kept beside its data like the user and the sign-in method, so
-- that removing someone from an account ends their sessions in it. Filled in by each
-- session's next request.
ALTER TABLE sessions ADD COLUMN account_id TEXT;
CREATE INDEX sessions_account_idx ON sessions (account_id, user_id);
