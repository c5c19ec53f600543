-- gardien store (PostgreSQL), schema version 6: the result index holds the sign-ins not
-- allowed.

-- As on SQLite: allowed sign-ins are most of the log and every replica's writer paid for
-- their entries. A search for allowed sign-ins uses another index (the planner's choice);
-- searches for denials and challenges name the index's condition (`decision <> 'allow'`),
-- so that a generic plan (a bound result, not a constant) may still use it.
DROP INDEX sign_ins_decision;
CREATE INDEX sign_ins_decision ON sign_ins (decision, created_ms, seq)
    INCLUDE (user_id, app_id, error_code)
    WHERE decision <> 'allow';
