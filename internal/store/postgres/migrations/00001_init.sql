-- +goose Up

-- meta holds process-wide facts every hookd process must agree on
-- (for example the master key fingerprint).
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE teams (
    id           uuid PRIMARY KEY,
    display_name text NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE TABLE members (
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    role       text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE credentials (
    id           uuid PRIMARY KEY,
    team_id      uuid NOT NULL,
    user_id      uuid,
    kind         text NOT NULL,
    display_name text NOT NULL,
    key_prefix   text NOT NULL,
    key_hash     bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX credentials_key_hash ON credentials (key_hash);
CREATE INDEX credentials_team_newest ON credentials (team_id, created_at DESC, id DESC);

CREATE TABLE webhooks (
    id                uuid PRIMARY KEY,
    team_id           uuid NOT NULL,
    display_name      text NOT NULL,
    url               text NOT NULL,
    secret_enc        bytea NOT NULL,
    events            text[] NOT NULL,
    status            text NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at        timestamptz NOT NULL,
    last_delivered_at timestamptz
);
CREATE INDEX webhooks_team_newest ON webhooks (team_id, created_at DESC, id DESC);

-- events carry no foreign key to teams: the task runtime may report a team
-- hookd has never seen, which is simply an event with no deliveries.
CREATE TABLE events (
    id             uuid PRIMARY KEY,
    team_id        uuid NOT NULL,
    task_id        uuid NOT NULL,
    event_type     text NOT NULL,
    task_status    text NOT NULL,
    body           bytea NOT NULL,
    delivery_count integer NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX events_task_id ON events (task_id);
CREATE INDEX events_created_at ON events (created_at);

-- deliveries is the queue and the log at once. webhook_id has no foreign key:
-- the log of a deleted webhook stays (canceled) until it is purged.
CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES events (id),
    webhook_id       uuid NOT NULL,
    team_id          uuid NOT NULL,
    event_type       text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
    attempt_count    integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    lease_owner      text,
    lease_until      timestamptz,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL,
    completed_at     timestamptz
);
-- The dispatcher's query: due pending rows in due order. Partial, so its size
-- follows the backlog, not the log.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) INCLUDE (webhook_id) WHERE status = 'pending';
-- Live leases, for the earliest lease expiry (crash recovery wake-up).
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'pending' AND lease_until IS NOT NULL;
-- Cancel on disable/delete without reading the webhook's whole log.
CREATE INDEX deliveries_pending_webhook ON deliveries (webhook_id) WHERE status = 'pending';
CREATE INDEX deliveries_webhook_newest ON deliveries (webhook_id, created_at DESC, id DESC);
CREATE INDEX deliveries_event ON deliveries (event_id);
-- Retention: terminal rows by completion time.
CREATE INDEX deliveries_terminal_completed ON deliveries (completed_at) WHERE status <> 'pending';

CREATE TABLE attempts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id    uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt_number integer NOT NULL,
    started_at     timestamptz NOT NULL,
    duration_ms    bigint NOT NULL,
    status_code    integer,
    error          text,
    -- bytea: a receiver may answer with any bytes, text would refuse NUL.
    response_body  bytea NOT NULL
);
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
