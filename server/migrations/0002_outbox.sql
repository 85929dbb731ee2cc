-- The built-in object store, accepted events, and the delivery outbox.

CREATE TABLE objects (
    module     TEXT NOT NULL,
    id         TEXT NOT NULL,
    data       TEXT NOT NULL, -- JSON object, `id` included
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (module, id)
);

CREATE TABLE events (
    id             TEXT PRIMARY KEY,
    type           TEXT NOT NULL,
    data           TEXT NOT NULL, -- JSON
    changed_fields TEXT,          -- JSON array, updates only
    previous       TEXT,          -- JSON object, updates only
    created_at     INTEGER NOT NULL
);

-- One row per event and matching webhook, written in the event's transaction.
-- Its id is the `webhook-id` header of every attempt.
CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES events (id),
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed')),
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER, -- when it is due; NULL once succeeded or failed
    lease_until      INTEGER, -- a worker holds it until then; expired leases come back
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at);

CREATE TABLE attempts (
    id                 INTEGER PRIMARY KEY,
    delivery_id        TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    webhook_id         TEXT NOT NULL,
    succeeded          INTEGER NOT NULL,
    started_at         INTEGER NOT NULL,
    duration_ms        INTEGER NOT NULL,
    request_method     TEXT NOT NULL,
    request_url        TEXT NOT NULL,
    request_headers    TEXT NOT NULL, -- JSON object, credentials masked
    request_body       TEXT NOT NULL,
    response_status    INTEGER,
    response_headers   TEXT,          -- JSON object
    response_body      TEXT,          -- at most 64 KiB
    response_truncated INTEGER NOT NULL DEFAULT 0,
    error_class        TEXT,
    error              TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);
CREATE INDEX attempts_webhook ON attempts (webhook_id, started_at);

-- Since when a webhook has failed without a single success (NULL: it is fine).
ALTER TABLE webhooks ADD COLUMN failing_since INTEGER;
