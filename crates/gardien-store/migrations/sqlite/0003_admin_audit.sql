-- gardien store, schema version 3.

-- Every admin API request made with a valid token: who (the token's configured name and
-- role), what (method, path and query), the answer's status and, for an accepted policy
-- write, the version it created. `seq` (the rowid) is the insertion order.
CREATE TABLE admin_audit (
    seq        INTEGER PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    token      TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    method     TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    version    INTEGER,
    author     TEXT
);
CREATE INDEX admin_audit_created ON admin_audit (created_ms);
CREATE INDEX admin_audit_token ON admin_audit (token, created_ms);
