-- gardien store, schema version 2.

-- Counters shared by every process using the file; `devices` is bumped by every device
-- write, so that a process can tell the devices changed without reading them all.
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('devices', 0);
