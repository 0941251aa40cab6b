-- +goose Up

-- The lease query reads pending rows in (next_attempt_at, id) order and
-- stops after a small window. An index in exactly that order lets it read the
-- window and nothing more; deliveries_due (next_attempt_at alone) forced a
-- sort on id, and with the statistics of a table that filled faster than
-- autovacuum analyses it, the planner sorted every pending row per lease
-- round. lease.go also turns sorting off in the lease transaction, so the
-- plan no longer depends on fresh statistics.
CREATE INDEX deliveries_due_order ON deliveries (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX deliveries_due;

-- deliveries is a queue: every row is inserted, updated by its lease and
-- updated again by its outcome (both change indexed columns, so neither is a
-- HOT update). The defaults (vacuum after 20 % of the table is dead, analyse
-- after 10 % changed) leave the partial indexes the lease walks full of dead
-- entries for long stretches on a large table; act at a few per cent.
ALTER TABLE deliveries SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02
);

-- +goose Down
ALTER TABLE deliveries RESET (
    autovacuum_vacuum_scale_factor,
    autovacuum_vacuum_insert_scale_factor,
    autovacuum_analyze_scale_factor
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) INCLUDE (webhook_id) WHERE status = 'pending';
DROP INDEX deliveries_due_order;
