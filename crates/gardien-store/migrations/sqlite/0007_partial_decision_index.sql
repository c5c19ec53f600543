-- gardien store, schema version 7: the result index holds the sign-ins not allowed.

-- Allowed sign-ins are most of the log, and the result index's `allow` entries were its most
-- expensive part to write: a third insertion point in the middle of the index, whose page
-- the log writer rewrote (and split, with its siblings) in every commit. A search for
-- allowed sign-ins follows another index (a user's, an application's, or the time index,
-- checking the result in each record); searches for denials and challenges name the
-- index's condition (`decision <> 'allow'`) so that SQLite may follow it.
DROP INDEX sign_ins_decision;
CREATE INDEX sign_ins_decision ON sign_ins (decision, created_ms, seq, user_id, app_id, error_code)
    WHERE decision <> 'allow';
