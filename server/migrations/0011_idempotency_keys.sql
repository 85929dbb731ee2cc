-- Publishers' idempotency keys, each naming the first event accepted with
-- it and how many deliveries that event queued. A key older than the
-- window (7 days) may be claimed again; the pruner deletes such keys.
CREATE TABLE idempotency_keys (
    idempotency_key TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    deliveries      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
