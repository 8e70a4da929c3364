-- The operator's kit (`terminus-hub admin …`): a user the operator disabled cannot sign in by
-- any path until enabled again (NULL: enabled). Their API keys keep working.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
