-- Where each change of the activity log came from: the client's IP and device (from its
-- User-Agent) of the request that made it; NULL for the operator's commands and background
-- work.
ALTER TABLE audit_events ADD COLUMN ip TEXT;
ALTER TABLE audit_events ADD COLUMN device TEXT;
