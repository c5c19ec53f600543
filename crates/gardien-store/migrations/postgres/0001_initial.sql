-- gardien store (PostgreSQL), schema version 1. Created in the schema first on the
-- search_path (StoreOptions::schema). Identifiers use COLLATE "C": byte order, like SQLite,
-- and cheaper comparisons in the indexes.

-- Every accepted change to the policy set: the whole tenant snapshot plus its audit data.
-- JSON as text: stored and returned byte for byte (key order kept).
CREATE TABLE tenant_versions (
    version    BIGINT PRIMARY KEY,
    author     TEXT   NOT NULL,
    summary    TEXT   NOT NULL,
    created_ms BIGINT NOT NULL,
    diff       TEXT   NOT NULL,
    snapshot   TEXT   NOT NULL
);

-- Graph `device` objects, keyed by their `deviceId`.
CREATE TABLE devices (
    device_id TEXT COLLATE "C" PRIMARY KEY,
    body      TEXT NOT NULL
);

-- Counters shared by every replica; `devices` is bumped by every device write.
CREATE TABLE counters (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('devices', 0);

-- Sign-in log: one Graph `signIn` object per decision, as the text the server serialized
-- (text, not jsonb: nothing to parse or re-encode on insert; the store never looks inside).
-- `seq` is the insertion order (a sequence shared by the replicas), the tie-breaker of
-- equal `created_ms`. The correlation id, unique across replicas, is the primary key.
-- Indexes (btree): the time range queries and the newest-first listing use
-- (created_ms, seq) in either direction; user and app queries their own index.
CREATE TABLE sign_ins (
    correlation_id TEXT COLLATE "C" PRIMARY KEY,
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    created_ms     BIGINT NOT NULL,
    user_id        TEXT COLLATE "C" NOT NULL,
    app_id         TEXT COLLATE "C" NOT NULL,
    decision       TEXT   NOT NULL,
    error_code     BIGINT,
    record         TEXT   NOT NULL
);
CREATE INDEX sign_ins_created ON sign_ins (created_ms, seq);
CREATE INDEX sign_ins_user ON sign_ins (user_id, created_ms);
CREATE INDEX sign_ins_app ON sign_ins (app_id, created_ms);
