-- hookd's embedded schema. Times are INTEGER unix microseconds UTC (the
-- precision PostgreSQL keeps, so both stores answer alike); ids are TEXT
-- UUIDs. STRICT tables make a wrongly typed bind an error, not a surprise.

-- +goose Up
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE teams (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE members (
    team_id    TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE credentials (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id      TEXT,
    kind         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    key_prefix   TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX credentials_team_newest ON credentials (team_id, created_at DESC, id DESC);

CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    team_id           TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    display_name      TEXT NOT NULL,
    url               TEXT NOT NULL,
    secret_enc        BLOB NOT NULL,
    events            TEXT NOT NULL, -- sorted, comma-joined event types
    status            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    last_delivered_at INTEGER
) STRICT;
CREATE INDEX webhooks_team_newest ON webhooks (team_id, created_at DESC, id DESC);

-- No foreign key to teams: ingest for a team hookd has never seen is allowed.
-- delivery_count is what ingest created, so a duplicate answers the original.
CREATE TABLE events (
    id             TEXT PRIMARY KEY,
    team_id        TEXT NOT NULL,
    task_id        TEXT NOT NULL UNIQUE,
    event_type     TEXT NOT NULL,
    task_status    TEXT NOT NULL,
    body           BLOB NOT NULL,
    delivery_count INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX events_created ON events (created_at, id);

-- The queue and the log at once. webhook_id has no foreign key: a deleted
-- webhook's canceled deliveries stay until the retention purge.
CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES events (id),
    webhook_id       TEXT NOT NULL,
    team_id          TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    task_id          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    lease_owner      TEXT,
    lease_until      INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER
) STRICT;
-- The dispatcher's query: only pending rows are indexed, so it stays cheap
-- however long the log grows.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, webhook_id) WHERE status = 'pending';
-- NextDue of leased rows (few: at most what is in flight).
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'pending' AND lease_until IS NOT NULL;
-- Cancel on disable/delete without scanning the webhook's whole log.
CREATE INDEX deliveries_pending_webhook ON deliveries (webhook_id) WHERE status = 'pending';
CREATE INDEX deliveries_webhook_newest ON deliveries (webhook_id, created_at DESC, id DESC);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_completed ON deliveries (completed_at) WHERE status <> 'pending';

CREATE TABLE attempts (
    delivery_id    TEXT NOT NULL REFERENCES deliveries (id),
    attempt_number INTEGER NOT NULL,
    started_at     INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    status_code    INTEGER,
    error          TEXT,
    response_body  TEXT NOT NULL
) STRICT;
-- Not unique: an attempt whose lease was lost and the new owner's attempt
-- may carry the same number; both are kept in the log.
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt_number);

-- +goose Down
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE webhooks;
DROP TABLE credentials;
DROP TABLE members;
DROP TABLE teams;
DROP TABLE meta;
