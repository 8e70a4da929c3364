-- Whoever opens the confirmation link chooses the password: a pending sign-up holds an address
-- and the hash of its link, never a password. Pending sign-ups made before this keep their
-- links; the page behind the link now asks for the password.
ALTER TABLE pending_sign_ups DROP COLUMN password_hash;
