-- Projections: plain tables derived from the events, updated in the append's transaction.
-- `shiplog rebuild` empties and replays them; they hold nothing the events do not.

-- One row per deployment: the staging workflow's deployment record and what auditors also need.
CREATE TABLE deployments (
    deployment_id        TEXT    PRIMARY KEY,
    environment          TEXT    NOT NULL,
    status               TEXT    NOT NULL,   -- running | success | failed | rolled_back | abandoned
    git_sha              TEXT    NOT NULL,
    git_ref              TEXT    NOT NULL,
    services_deployed    TEXT    NOT NULL DEFAULT '[]',  -- JSON array
    health_checks        TEXT    NOT NULL DEFAULT '{}',  -- JSON object: check -> healthy | unhealthy, smoke_tests -> passed | failed
    triggered_by         TEXT    NOT NULL,
    mode                 TEXT    NOT NULL,   -- run | record
    current_phase        TEXT    NOT NULL,
    started_at           TEXT    NOT NULL,
    finished_at          TEXT,
    duration_ms          INTEGER,
    previous_stable_id   TEXT,               -- the rollback target when it was requested
    rolled_back_to       TEXT,               -- the deployment a rollback restored
    failure_reason       TEXT,
    marked_bad_reason    TEXT,
    marked_bad_by        TEXT,
    request_position     INTEGER NOT NULL,
    last_position        INTEGER NOT NULL
) STRICT;

CREATE INDEX deployments_by_environment ON deployments (environment, request_position);
CREATE INDEX deployments_by_position ON deployments (request_position);
-- last-stable: newest success not marked bad, per environment, without a scan.
CREATE INDEX deployments_stable ON deployments (environment, request_position)
    WHERE status = 'success' AND marked_bad_reason IS NULL;

-- One row per stored log or record file, with its 365-day (configurable) retention.
CREATE TABLE artifacts (
    name            TEXT    PRIMARY KEY,
    deployment_id   TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    phase           TEXT    NOT NULL,
    sha256          TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    retention_days  INTEGER NOT NULL,
    stored_at       TEXT    NOT NULL,
    expires_at      TEXT    NOT NULL,
    pruned_at       TEXT,
    stored_position INTEGER NOT NULL
) STRICT;

CREATE INDEX artifacts_by_expiry ON artifacts (expires_at) WHERE pruned_at IS NULL;
CREATE INDEX artifacts_by_deployment ON artifacts (deployment_id);

-- One row per environment: the deployment holding it, if any.
CREATE TABLE environments (
    name                  TEXT PRIMARY KEY,
    active_deployment_id  TEXT,
    updated_at            TEXT NOT NULL
) STRICT;

-- How far the projections have read: equal to the head after every append.
CREATE TABLE projection_state (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;

INSERT INTO projection_state (name, position) VALUES ('all', 0);
