-- API keys across instances and after a leak (issue 25).
-- The client IP of a key's latest request, written in the batches of "last used".
ALTER TABLE api_keys ADD COLUMN last_used_ip TEXT;

-- Requests per key per day (UTC; `day` counts days since 1970-01-01), added in the batches of
-- "last used" (never a write per request). Days older than 30 are pruned.
CREATE TABLE api_key_usage (
    key_id   TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day      INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (key_id, day)
);
CREATE INDEX api_key_usage_day_idx ON api_key_usage (day);
