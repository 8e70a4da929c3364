-- One row that /readyz updates in a transaction: ready means a write commits, not only that a
-- read answers (a full disk or a read-only file still answers reads).
CREATE TABLE health_probe (
    id     INTEGER PRIMARY KEY,
    checks BIGINT NOT NULL
);
INSERT INTO health_probe (id, checks) VALUES (1, 0);
