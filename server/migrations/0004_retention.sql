-- Pruning old deliveries, their events, and the payloads of old successful attempts.
CREATE INDEX deliveries_created ON deliveries (created_at) WHERE next_attempt_at IS NULL;
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX attempts_payload ON attempts (started_at) WHERE succeeded = 1 AND request_body != '';

-- View Logs filters combined: a webhook's failed deliveries.
CREATE INDEX deliveries_webhook_status ON deliveries (webhook_id, status, id);
CREATE INDEX deliveries_webhook_event_type ON deliveries (webhook_id, event_type, id);
-- The chart over every webhook.
CREATE INDEX attempts_started ON attempts (started_at);
