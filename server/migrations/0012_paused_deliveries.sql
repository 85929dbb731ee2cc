-- Deliveries paused while hookhub has their webhook switched off, the probes
-- that look for its recovery, and the probes' own deliveries marked as such.
-- SQLite cannot change a CHECK in place: `deliveries` is rebuilt. Migrations
-- run with foreign keys off (`SqliteStore::open`), so that dropping the old
-- table does not take the attempts with it (they cascade).
CREATE TABLE deliveries_rebuilt (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES events (id),
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL
                     CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed', 'paused')),
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER, -- when it is due; NULL once succeeded or failed, and while paused
    lease_until      INTEGER, -- a worker holds it until then; expired leases come back
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_duration_ms INTEGER,
    single_attempt   INTEGER NOT NULL DEFAULT 0,
    probe            INTEGER NOT NULL DEFAULT 0 -- sent to a switched-off webhook to see if it is back
);
INSERT INTO deliveries_rebuilt (id, webhook_id, event_id, event_type, status, attempt_count,
        next_attempt_at, lease_until, last_status_code, last_error, created_at, updated_at,
        last_duration_ms, single_attempt)
    SELECT id, webhook_id, event_id, event_type, status, attempt_count, next_attempt_at,
        lease_until, last_status_code, last_error, created_at, updated_at, last_duration_ms,
        single_attempt
    FROM deliveries ORDER BY rowid;
DROP TABLE deliveries;
ALTER TABLE deliveries_rebuilt RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (webhook_id, next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_status ON deliveries (status, id);
CREATE INDEX deliveries_event_type ON deliveries (event_type, id);
CREATE INDEX deliveries_webhook_status ON deliveries (webhook_id, status, id);
CREATE INDEX deliveries_webhook_event_type ON deliveries (webhook_id, event_type, id);
CREATE INDEX deliveries_created ON deliveries (created_at) WHERE next_attempt_at IS NULL;
CREATE INDEX deliveries_event ON deliveries (event_id);

-- When hookhub next probes a webhook it switched off; NULL otherwise.
-- Webhooks already switched off by hookhub are probed at once.
ALTER TABLE webhooks ADD COLUMN next_probe_at INTEGER;
UPDATE webhooks SET next_probe_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
    WHERE active = 0 AND disabled_reason IS NOT NULL;
