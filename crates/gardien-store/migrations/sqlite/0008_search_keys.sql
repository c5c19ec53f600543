-- gardien store, schema version 8: the search indexes keyed by 64-bit integers (1 of 2).

-- The user's and the application's ids (36-byte GUID texts) made the search indexes' entries
-- about 100 bytes each, twice per index (the leading id and the other one, checked inside
-- the index): the log writer's costliest b-trees after the table. Each id now has a 64-bit
-- key (`user_key`, `app_key`: a hash of the id, computed by the store, see
-- `sqlite/keys.rs`); the indexes hold the keys, and a search compares the keys inside the
-- index and the ids themselves in the record's row (two ids may share a key). The store
-- fills the keys of the rows written before this version, then schema version 9 creates the
-- keyed indexes.
ALTER TABLE sign_ins ADD COLUMN user_key INTEGER;
ALTER TABLE sign_ins ADD COLUMN app_key INTEGER;
DROP INDEX sign_ins_user;
DROP INDEX sign_ins_app;
DROP INDEX sign_ins_decision;
DROP INDEX sign_ins_error_code;
