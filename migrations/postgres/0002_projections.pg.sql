-- Projections: plain tables derived from the events, written in the append's transaction.
-- The same columns as the SQLite ledger's (migrations/0002_projections.sql).

CREATE TABLE deployments (
    deployment_id        TEXT    PRIMARY KEY,
    environment          TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    git_sha              TEXT    NOT NULL,
    git_ref              TEXT    NOT NULL,
    services_deployed    TEXT    NOT NULL DEFAULT '[]',
    health_checks        TEXT    NOT NULL DEFAULT '{}',
    triggered_by         TEXT    NOT NULL,
    mode                 TEXT    NOT NULL,
    current_phase        TEXT    NOT NULL,
    started_at           TEXT    NOT NULL,
    finished_at          TEXT,
    duration_ms          BIGINT,
    previous_stable_id   TEXT,
    rolled_back_to       TEXT,
    failure_reason       TEXT,
    marked_bad_reason    TEXT,
    marked_bad_by        TEXT,
    request_position     BIGINT  NOT NULL,
    last_position        BIGINT  NOT NULL
);
CREATE INDEX deployments_by_environment ON deployments (environment, request_position);
CREATE INDEX deployments_by_position ON deployments (request_position);

CREATE TABLE artifacts (
    name            TEXT    PRIMARY KEY,
    deployment_id   TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    phase           TEXT    NOT NULL,
    sha256          TEXT    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size            BIGINT  NOT NULL,
    retention_days  INTEGER NOT NULL,
    stored_at       TEXT    NOT NULL,
    expires_at      TEXT    NOT NULL,
    pruned_at       TEXT,
    stored_position BIGINT  NOT NULL
);

CREATE TABLE environments (
    name                  TEXT PRIMARY KEY,
    active_deployment_id  TEXT,
    updated_at            TEXT NOT NULL
);

CREATE TABLE projection_state (
    name     TEXT   PRIMARY KEY,
    position BIGINT NOT NULL
);
INSERT INTO projection_state (name, position) VALUES ('all', 0);

-- Retention queries (expiring soon, expired) and a deployment's artifacts without a scan.
CREATE INDEX artifacts_by_expiry ON artifacts (expires_at) WHERE pruned_at IS NULL;
CREATE INDEX artifacts_by_deployment ON artifacts (deployment_id);
