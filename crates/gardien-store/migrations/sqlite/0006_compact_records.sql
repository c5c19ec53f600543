-- gardien store, schema version 6: compact sign-in records.

-- A record's per-policy entries (`appliedConditionalAccessPolicies`) are stored once each
-- in `sign_in_fragments`, by content id; the record keeps the list of its ids (`applied`,
-- 8 bytes little-endian each) and where they go in its text (`applied_at`, a byte offset
-- just inside an empty array). Readers splice them back. Rows written before this version
-- have both NULL and are read as they are. Fragments are never deleted.
ALTER TABLE sign_ins ADD COLUMN applied_at INTEGER;
ALTER TABLE sign_ins ADD COLUMN applied BLOB;
CREATE TABLE sign_in_fragments (
    id   INTEGER PRIMARY KEY NOT NULL,
    text TEXT    NOT NULL
);
