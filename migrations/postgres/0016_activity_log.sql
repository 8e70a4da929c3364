-- The activity log is read a page at a time, newest first (ids grow with time), for an
-- account's own events and for its members' sign-in events (which belong to no account).
CREATE INDEX audit_events_account_id_idx ON audit_events (account_id, id);
CREATE INDEX audit_events_actor_id_idx ON audit_events (actor_user_id, id);
