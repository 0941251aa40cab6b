-- The lean delivery path and fast crash recovery.
--
-- 1. Ids become 16-byte BLOBs instead of 36-character TEXT: every key and
--    index entry that carries one shrinks by 20 bytes, and no id is formatted
--    or parsed on the way in or out.
-- 2. deliveries is WITHOUT ROWID, clustered on its UUIDv7 id (time order:
--    inserts append), and keeps four secondary indexes instead of six, each
--    serving a query: the queue (lease walk), the webhook's log by status
--    (newest first per status; the unfiltered log merges the four), the
--    event's deliveries (task filter, retention of events) and failed rows
--    (recover). Retention walks the primary key (ids are time-ordered), so
--    the index on completion time is gone. delivery_counts keeps each
--    webhook's deliveries per status, so the log's total_count is read, not
--    counted.
-- 3. A lease is a visibility timeout: queue_at is the due time of a free row
--    and the lease expiry of a leased one; next_attempt_at keeps the due time
--    the log shows. The lease walk reads only rows nobody holds, and the lease
--    columns are no longer indexed on their own.
-- 4. A success that ends a delivery is kept on the delivery row
--    (success_started_at, success_duration_ms, success_response) instead of
--    an attempt row; attempts holds every other attempt.
-- 5. recoveries holds accepted recover calls: the parts of their windows no
--    earlier call covered, and how far the creation of their redeliveries
--    has come.
--
-- Foreign keys are off while this runs (migrate.go) and checked afterwards:
-- tables are rebuilt the way SQLite documents for ALTER TABLE.

-- +goose Up
CREATE TABLE teams_v2 (
    id           BLOB PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;
INSERT INTO teams_v2 SELECT unhex(replace(id, '-', '')), display_name, created_at FROM teams;

CREATE TABLE members_v2 (
    team_id    BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
) STRICT, WITHOUT ROWID;
INSERT INTO members_v2 SELECT unhex(replace(team_id, '-', '')), unhex(replace(user_id, '-', '')), role, created_at FROM members;

CREATE TABLE credentials_v2 (
    id           BLOB PRIMARY KEY,
    team_id      BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id      BLOB,
    kind         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    key_prefix   TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;
INSERT INTO credentials_v2 SELECT unhex(replace(id, '-', '')), unhex(replace(team_id, '-', '')),
    unhex(replace(user_id, '-', '')), kind, display_name, key_prefix, key_hash, created_at,
    last_used_at, expires_at, revoked_at FROM credentials;

CREATE TABLE webhooks_v2 (
    id                BLOB PRIMARY KEY,
    team_id           BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    display_name      TEXT NOT NULL,
    url               TEXT NOT NULL,
    secret_enc        BLOB NOT NULL,
    events            TEXT NOT NULL, -- sorted, comma-joined event types
    status            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    last_delivered_at INTEGER
) STRICT;
INSERT INTO webhooks_v2 SELECT unhex(replace(id, '-', '')), unhex(replace(team_id, '-', '')), display_name,
    url, secret_enc, events, status, created_at, last_delivered_at FROM webhooks;

-- No foreign key to teams: ingest for a team hookd has never seen is allowed.
-- delivery_count is what ingest created, so a duplicate answers the original.
CREATE TABLE events_v2 (
    id             BLOB PRIMARY KEY,
    team_id        BLOB NOT NULL,
    task_id        BLOB NOT NULL UNIQUE,
    event_type     TEXT NOT NULL,
    task_status    TEXT NOT NULL,
    body           BLOB NOT NULL,
    delivery_count INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO events_v2 SELECT unhex(replace(id, '-', '')), unhex(replace(team_id, '-', '')),
    unhex(replace(task_id, '-', '')), event_type, task_status, body, delivery_count, created_at FROM events;

-- The queue and the log at once. No foreign keys: the store writes events
-- before their deliveries and purges in the opposite order itself, and a
-- deleted webhook's canceled deliveries stay until the retention purge.
CREATE TABLE deliveries_v2 (
    id                  BLOB PRIMARY KEY,
    event_id            BLOB NOT NULL,
    webhook_id          BLOB NOT NULL,
    team_id             BLOB NOT NULL,
    event_type          TEXT NOT NULL,
    task_id             BLOB NOT NULL,
    status              TEXT NOT NULL,
    attempt_count       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER,
    queue_at            INTEGER,
    lease_owner         TEXT,
    last_status_code    INTEGER,
    last_error          TEXT,
    created_at          INTEGER NOT NULL,
    completed_at        INTEGER,
    success_started_at  INTEGER,
    success_duration_ms INTEGER,
    success_response    TEXT
) STRICT, WITHOUT ROWID;
-- Every lease of the previous release is void: a starting server owns them.
INSERT INTO deliveries_v2 SELECT unhex(replace(id, '-', '')), unhex(replace(event_id, '-', '')),
    unhex(replace(webhook_id, '-', '')), unhex(replace(team_id, '-', '')), event_type,
    unhex(replace(task_id, '-', '')), status, attempt_count, next_attempt_at,
    CASE WHEN status = 'pending' THEN next_attempt_at END, NULL,
    last_status_code, last_error, created_at, completed_at, NULL, NULL, NULL
    FROM deliveries;

CREATE TABLE attempts_v2 (
    delivery_id    BLOB NOT NULL,
    attempt_number INTEGER NOT NULL,
    started_at     INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    status_code    INTEGER,
    error          TEXT,
    response_body  TEXT NOT NULL
) STRICT;
INSERT INTO attempts_v2 SELECT unhex(replace(delivery_id, '-', '')), attempt_number, started_at, duration_ms,
    status_code, error, response_body FROM attempts ORDER BY rowid;

DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE webhooks;
DROP TABLE credentials;
DROP TABLE members;
DROP TABLE teams;
ALTER TABLE teams_v2 RENAME TO teams;
ALTER TABLE members_v2 RENAME TO members;
ALTER TABLE credentials_v2 RENAME TO credentials;
ALTER TABLE webhooks_v2 RENAME TO webhooks;
ALTER TABLE events_v2 RENAME TO events;
ALTER TABLE deliveries_v2 RENAME TO deliveries;
ALTER TABLE attempts_v2 RENAME TO attempts;

CREATE INDEX credentials_team_newest ON credentials (team_id, created_at DESC, id DESC);
CREATE INDEX webhooks_team_newest ON webhooks (team_id, created_at DESC, id DESC);
-- The lease walk: pending rows in queue order. Partial, so it holds the
-- backlog, not the log; webhook_id lets the walk skip full lanes from the
-- index alone.
CREATE INDEX deliveries_queue ON deliveries (queue_at, webhook_id) WHERE status = 'pending';
-- A webhook's log per status, newest first (ids are time-ordered); the
-- unfiltered log merges the four statuses. Also the pending rows a disable
-- or delete cancels.
CREATE INDEX deliveries_log ON deliveries (webhook_id, status, id);
-- The deliveries of an event: the log's task filter, and event retention.
CREATE INDEX deliveries_event ON deliveries (event_id);
-- Failed rows by completion time, for recover. Only failed rows are in it.
CREATE INDEX deliveries_failed ON deliveries (webhook_id, completed_at) WHERE status = 'failed';
-- Not unique: an attempt whose lease was lost and the new owner's attempt
-- may carry the same number; both are kept in the log.
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt_number);

-- How many deliveries each webhook has in each status, kept in the same
-- transaction as every change of status, insert and purge.
CREATE TABLE delivery_counts (
    webhook_id BLOB NOT NULL,
    status     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, status)
) STRICT, WITHOUT ROWID;
INSERT INTO delivery_counts SELECT webhook_id, status, count(*) FROM deliveries GROUP BY webhook_id, status;

-- One row per accepted recover call. since/until is its window (until no
-- later than the call); ranges, a JSON array of [since, until] pairs, the
-- parts of it no earlier call of the webhook covered: the failed deliveries
-- there are this call's. cursor_* is where the creation of redeliveries
-- resumes, in (completed_at, id) order.
CREATE TABLE recoveries (
    id                  BLOB PRIMARY KEY,
    team_id             BLOB NOT NULL,
    webhook_id          BLOB NOT NULL,
    since               INTEGER NOT NULL,
    until               INTEGER NOT NULL,
    ranges              TEXT NOT NULL,
    claimed             INTEGER NOT NULL,
    converted           INTEGER NOT NULL DEFAULT 0,
    cursor_completed_at INTEGER NOT NULL,
    cursor_id           BLOB NOT NULL,
    created_at          INTEGER NOT NULL,
    finished_at         INTEGER
) STRICT;
CREATE INDEX recoveries_webhook ON recoveries (webhook_id);

-- +goose Down
-- Not supported: ids and leases changed shape. Restore a backup of the
-- previous release instead (the statement fails with that advice).
SELECT * FROM downgrade_not_supported_restore_a_backup;
