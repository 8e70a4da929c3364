-- What a person's Security page shows of each of their sessions: the device (its user agent,
-- cut to 300 characters), the IP it signed in from, and when it started; kept beside the data
-- like the user, the account and the sign-in method, and filled in when a session starts.
-- Sessions from before this migration show none of them until their next sign-in.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN started_at BIGINT;
