-- Logs and records kept by content, in the database, so that any runner sharing the ledger can
-- read any deployment's logs. Stored in chunks of at most 1 MiB: a log of several gigabytes is
-- written and read as a stream, never as one value.
CREATE TABLE artifact_chunks (
    sha256 TEXT    NOT NULL,
    chunk  INTEGER NOT NULL CHECK (chunk >= 0),
    bytes  BYTEA   NOT NULL,
    PRIMARY KEY (sha256, chunk)
);
-- One row per complete blob, written in the same transaction as its last chunk: a blob
-- without this row is incomplete and is neither read nor counted.
CREATE TABLE artifact_blobs (
    sha256 TEXT   PRIMARY KEY,
    size   BIGINT NOT NULL,
    chunks INTEGER NOT NULL
);
