-- gardien store, schema version 5.

-- Console sessions signed out before their expiry: the session id (random, from the sealed
-- cookie) and when the session would have expired, after which the row is useless and
-- deleted. Every replica and every restart sees the same list.
CREATE TABLE console_revoked_sessions (
    session_id TEXT    PRIMARY KEY NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX console_revoked_sessions_expires ON console_revoked_sessions (expires_ms);
