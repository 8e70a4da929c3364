-- A first single sign-on sign-in honours the sign-up policy: on an invite-only server, a
-- connection creates users for people who were not invited only when its owner turned on
-- "create users on first sign-in" (off for every connection, new or existing).
ALTER TABLE sso_connections ADD COLUMN create_users INTEGER NOT NULL DEFAULT 0;

-- The account a session is in, kept beside its data like the user and the sign-in method, so
-- that removing someone from an account ends their sessions in it (found through the user's
-- index: no index of its own, which every session's save would have to keep up). Filled in by
-- each session's next request.
ALTER TABLE sessions ADD COLUMN account_id TEXT;
