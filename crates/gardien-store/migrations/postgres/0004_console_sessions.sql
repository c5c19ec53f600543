-- gardien store (PostgreSQL), schema version 4.

-- Console sessions signed out before their expiry: the session id (random, from the sealed
-- cookie) and when the session would have expired, after which the row is useless and
-- deleted. Every replica and every restart sees the same list.
CREATE TABLE console_revoked_sessions (
    session_id TEXT COLLATE "C" PRIMARY KEY,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX console_revoked_sessions_expires ON console_revoked_sessions (expires_ms);
