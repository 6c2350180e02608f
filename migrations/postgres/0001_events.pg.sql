-- The event log on PostgreSQL: the same columns, rules and bytes as the SQLite ledger
-- (migrations/0001_events.sql), so an export from either is byte-identical.
--
-- Positions are assigned by the appending transaction as head + 1 while it holds the single
-- row of ledger_head locked FOR UPDATE: appends are serialized, positions are gapless, and
-- commit order equals position order (a sequence would leave gaps, and a reader could see
-- position 2 committed before position 1).

CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    checksum   TEXT    NOT NULL,            -- SHA-256 of the migration file, lowercase hex
    applied_at TEXT    NOT NULL             -- UTC, ISO 8601 with milliseconds
);

CREATE TABLE events (
    position    BIGINT  PRIMARY KEY CHECK (position >= 1),
    event_id    TEXT    NOT NULL UNIQUE,
    stream      TEXT    NOT NULL CHECK (stream <> ''),
    version     BIGINT  NOT NULL CHECK (version >= 1),
    type        TEXT    NOT NULL CHECK (type <> ''),
    schema      INTEGER NOT NULL CHECK (schema >= 1),
    -- JSON object text, kept byte for byte (jsonb would reorder keys and change the hash input).
    data        TEXT    NOT NULL CHECK (json_typeof(data::json) = 'object'),
    metadata    TEXT    NOT NULL CHECK (json_typeof(metadata::json) = 'object'),
    recorded_at TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    UNIQUE (stream, version)
);

-- The chain's head: one row, locked by every append.
CREATE TABLE ledger_head (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    position  BIGINT  NOT NULL,
    hash      TEXT    NOT NULL
);
INSERT INTO ledger_head (singleton, position, hash)
VALUES (TRUE, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Events are never changed or removed: UPDATE, DELETE and TRUNCATE are refused for everyone,
-- the table's owner included. (A superuser can drop the triggers; `shiplog verify` then finds
-- the edit by recomputing the chain.)
CREATE FUNCTION shiplog_refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'P0001';
END
$$;
CREATE TRIGGER events_are_immutable BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION shiplog_refuse_event_change();
CREATE TRIGGER events_are_permanent BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION shiplog_refuse_event_change();

-- Artifact facts straight from the events (artifacts prune), as on SQLite.
CREATE INDEX events_artifact_facts ON events (position) WHERE type IN ('ArtifactStored', 'ArtifactPruned');
