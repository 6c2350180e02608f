-- The ledger: one append-only table of events, hash-chained, plus the record of applied migrations.

CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    checksum   TEXT    NOT NULL,            -- SHA-256 of the migration file, lowercase hex
    applied_at TEXT    NOT NULL             -- UTC, ISO 8601 with milliseconds
) STRICT;

CREATE TABLE events (
    position    INTEGER PRIMARY KEY,        -- global order, gapless 1…n, assigned in the write transaction
    event_id    TEXT    NOT NULL UNIQUE,    -- UUIDv7: time-ordered, so its index grows at one end
    stream      TEXT    NOT NULL,
    version     INTEGER NOT NULL,           -- 1…n within the stream
    type        TEXT    NOT NULL,
    schema      INTEGER NOT NULL,           -- the event type's schema version, for upcasting
    data        TEXT    NOT NULL,           -- JSON object
    metadata    TEXT    NOT NULL,           -- JSON object
    recorded_at TEXT    NOT NULL,           -- UTC, ISO 8601 with milliseconds
    hash        TEXT    NOT NULL,           -- SHA-256 chain, see docs/HASH-CHAIN.md
    UNIQUE (stream, version),
    CHECK (position >= 1 AND version >= 1 AND schema >= 1),
    CHECK (json_valid(data) AND substr(data, 1, 1) = '{'),
    CHECK (json_valid(metadata) AND substr(metadata, 1, 1) = '{')
) STRICT;

-- Recorded events never change. These abort inside SQLite itself, so they also hold
-- against the sqlite3 shell; whoever drops them is still caught by `shiplog verify`.
CREATE TRIGGER events_are_immutable BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'shiplog: events are immutable; UPDATE is refused');
END;

CREATE TRIGGER events_are_permanent BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'shiplog: events are permanent; DELETE is refused');
END;
