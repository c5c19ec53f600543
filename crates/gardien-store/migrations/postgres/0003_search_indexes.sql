-- gardien store (PostgreSQL), schema version 3: the console's sign-in search.

-- Each filter of the search (user, application, result, error code) leads one index; then
-- (created_ms, seq) for the newest-first order and the keyset position; the other filter
-- columns are INCLUDEd, so that an index-only scan led by one filter checks the others
-- without visiting the table. The search reads the positions first and then the records by
-- `seq` (its own unique index). Partial on `error_code`: allowed sign-ins have none.
DROP INDEX sign_ins_user;
DROP INDEX sign_ins_app;
CREATE UNIQUE INDEX sign_ins_seq ON sign_ins (seq);
CREATE INDEX sign_ins_user ON sign_ins (user_id, created_ms, seq)
    INCLUDE (app_id, decision, error_code);
CREATE INDEX sign_ins_app ON sign_ins (app_id, created_ms, seq)
    INCLUDE (user_id, decision, error_code);
CREATE INDEX sign_ins_decision ON sign_ins (decision, created_ms, seq)
    INCLUDE (user_id, app_id, error_code);
CREATE INDEX sign_ins_error_code ON sign_ins (error_code, created_ms, seq)
    INCLUDE (user_id, app_id, decision)
    WHERE error_code IS NOT NULL;
