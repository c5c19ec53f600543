-- gardien store (PostgreSQL), schema version 2.

-- Every admin API request made with a valid token: who (the token's configured name and
-- role), what (method, path and query), the answer's status and, for an accepted policy
-- write, the version it created. `seq` is the insertion order (shared by the replicas).
CREATE TABLE admin_audit (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    token      TEXT COLLATE "C" NOT NULL,
    role       TEXT   NOT NULL,
    method     TEXT   NOT NULL,
    path       TEXT   NOT NULL,
    status     INTEGER NOT NULL,
    version    BIGINT,
    author     TEXT
);
CREATE INDEX admin_audit_created ON admin_audit (created_ms, seq);
CREATE INDEX admin_audit_token ON admin_audit (token, created_ms);
