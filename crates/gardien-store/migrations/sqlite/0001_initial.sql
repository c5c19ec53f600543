-- gardien store, schema version 1.

-- Every accepted change to the policy set: the whole tenant snapshot plus its audit data.
-- Small columns first so that listing versions does not read the large JSON columns.
CREATE TABLE tenant_versions (
    version    INTEGER PRIMARY KEY,
    author     TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    diff       TEXT    NOT NULL,
    snapshot   TEXT    NOT NULL
);

-- Graph `device` objects, keyed by their `deviceId`.
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY NOT NULL,
    body      TEXT NOT NULL
);

-- Sign-in log: one Graph `signIn` object per decision. `seq` (the rowid) is the insertion
-- order; every index implicitly ends with it, so (created_ms, seq) orderings use the index.
CREATE TABLE sign_ins (
    seq            INTEGER PRIMARY KEY,
    correlation_id TEXT    NOT NULL UNIQUE,
    created_ms     INTEGER NOT NULL,
    user_id        TEXT    NOT NULL,
    app_id         TEXT    NOT NULL,
    decision       TEXT    NOT NULL,
    error_code     INTEGER,
    record         TEXT    NOT NULL
);
CREATE INDEX sign_ins_created ON sign_ins (created_ms);
CREATE INDEX sign_ins_user ON sign_ins (user_id, created_ms);
CREATE INDEX sign_ins_app ON sign_ins (app_id, created_ms);
