-- The lean delivery path and fast crash recovery.
--
-- 1. A lease is a visibility timeout: queue_at is the due time of a free
--    pending row and the lease expiry of a leased one (next_attempt_at keeps
--    the due time the log shows). The lease walk reads only rows nobody
--    holds, and no index covers the lease columns any more.
-- 2. deliveries keeps three secondary indexes instead of six, each serving a
--    query: the queue (lease walk), the webhook's log by status (newest
--    first by the time-ordered UUIDv7 id; the unfiltered log merges the four
--    statuses), the event's deliveries (task filter, event retention), plus
--    a partial index of failed rows (recover). Every non-HOT update writes an
--    entry into every index whose predicate the new row matches, so each
--    index dropped here is one B-tree insert less per state change.
--    Retention walks the primary keys (ids are time-ordered). delivery_counts
--    keeps each webhook's deliveries per status, so the log's total_count is
--    read, not counted.
-- 3. A success that ends a delivery is kept on the delivery row instead of
--    an attempt row; attempts holds every other attempt.
-- 4. recoveries holds accepted recover calls: the parts of their windows no
--    earlier call covered, and how far the creation of their redeliveries
--    has come.
-- 5. Owner identities come from a sequence; a live owner holds the session
--    advisory lock (schema key, owner id), which PostgreSQL drops when the
--    session ends, so the others can tell it died.
--
-- Leases written by the previous release are voided: stop every hookd
-- process of the previous release before starting this one.

-- +goose Up
ALTER TABLE deliveries
    ADD COLUMN queue_at timestamptz,
    ADD COLUMN success_started_at timestamptz,
    ADD COLUMN success_duration_ms bigint,
    ADD COLUMN success_response bytea;

UPDATE deliveries SET queue_at = next_attempt_at, lease_owner = NULL WHERE status = 'pending';

DROP INDEX deliveries_due_order;
DROP INDEX deliveries_leased;
DROP INDEX deliveries_pending_webhook;
DROP INDEX deliveries_webhook_newest;
DROP INDEX deliveries_terminal_completed;
ALTER TABLE deliveries DROP COLUMN lease_until;

-- The lease walk: pending rows in queue order, the backlog only.
CREATE INDEX deliveries_queue ON deliveries (queue_at, id) WHERE status = 'pending';
-- A webhook's log per status, newest first; the unfiltered log merges the
-- four statuses. Also the pending rows a disable cancels.
CREATE INDEX deliveries_log ON deliveries (webhook_id, status, id);
-- Failed rows by completion time, for recover; only failed rows are in it.
CREATE INDEX deliveries_failed ON deliveries (webhook_id, completed_at, id) WHERE status = 'failed';

-- Events are found by age through their time-ordered primary key.
DROP INDEX events_created_at;

-- How many deliveries each webhook has in each status, kept in the same
-- transaction as every change of status, insert and purge.
CREATE TABLE delivery_counts (
    webhook_id uuid NOT NULL,
    status     text NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (webhook_id, status)
);
INSERT INTO delivery_counts SELECT webhook_id, status, count(*) FROM deliveries GROUP BY webhook_id, status;

-- One row per accepted recover call. since/until is its window (until no
-- later than the call); range_since/range_until the parts of it no earlier
-- call of the webhook covered: the failed deliveries there are this call's.
-- cursor_* is where the creation of redeliveries resumes, in
-- (completed_at, id) order.
CREATE TABLE recoveries (
    id                  uuid PRIMARY KEY,
    team_id             uuid NOT NULL,
    webhook_id          uuid NOT NULL,
    since               timestamptz NOT NULL,
    until               timestamptz NOT NULL,
    range_since         timestamptz[] NOT NULL,
    range_until         timestamptz[] NOT NULL,
    claimed             integer NOT NULL,
    converted           integer NOT NULL DEFAULT 0,
    cursor_completed_at timestamptz NOT NULL,
    cursor_id           uuid NOT NULL,
    created_at          timestamptz NOT NULL,
    finished_at         timestamptz
);
CREATE INDEX recoveries_webhook ON recoveries (webhook_id);

CREATE SEQUENCE owner_ids AS integer;

-- +goose Down
-- Not supported: leases and the attempt log changed shape. Restore a backup
-- of the previous release instead (the statement fails with that advice).
SELECT * FROM downgrade_not_supported_restore_a_backup;
