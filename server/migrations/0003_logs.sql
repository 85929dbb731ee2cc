-- View Logs: newest-first pages by id (UUIDv7, so id order is time order),
-- filtered by webhook, status or event type.
DROP INDEX deliveries_webhook;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_status ON deliveries (status, id);
CREATE INDEX deliveries_event_type ON deliveries (event_type, id);

-- How long the last attempt took, for the log table.
ALTER TABLE deliveries ADD COLUMN last_duration_ms INTEGER;
-- Set by Redeliver: the next attempt is a single one, not retried on the schedule.
ALTER TABLE deliveries ADD COLUMN single_attempt INTEGER NOT NULL DEFAULT 0;
