-- gardien store, schema version 4: the console's sign-in search.

-- Each filter of the search (user, application, result, error code) leads one index; then
-- (created_ms, seq) for the newest-first order and the keyset position; then the other
-- filter columns, so that a search led by one filter checks the others inside the index,
-- without reading a record it skips. The store picks the index to follow (see
-- `sqlite/search.rs`). Partial on `error_code`: allowed sign-ins have none.
DROP INDEX sign_ins_user;
DROP INDEX sign_ins_app;
CREATE INDEX sign_ins_user ON sign_ins (user_id, created_ms, seq, app_id, decision, error_code);
CREATE INDEX sign_ins_app ON sign_ins (app_id, created_ms, seq, user_id, decision, error_code);
CREATE INDEX sign_ins_decision ON sign_ins (decision, created_ms, seq, user_id, app_id, error_code);
CREATE INDEX sign_ins_error_code ON sign_ins (error_code, created_ms, seq, user_id, app_id, decision)
    WHERE error_code IS NOT NULL;
