-- gardien store, schema version 9: the search indexes keyed by 64-bit integers (2 of 2).

-- As schema version 4 and 7, with the ids' keys (version 8) in place of the ids; every row
-- has its keys by now (the store fills them between the two versions).
CREATE INDEX sign_ins_user ON sign_ins (user_key, created_ms, seq, app_key, decision, error_code);
CREATE INDEX sign_ins_app ON sign_ins (app_key, created_ms, seq, user_key, decision, error_code);
CREATE INDEX sign_ins_decision ON sign_ins (decision, created_ms, seq, user_key, app_key, error_code)
    WHERE decision <> 'allow';
CREATE INDEX sign_ins_error_code ON sign_ins (error_code, created_ms, seq, user_key, app_key, decision)
    WHERE error_code IS NOT NULL;
