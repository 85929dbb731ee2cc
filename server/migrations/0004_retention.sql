-- Pruning old deliveries, their events, and the payloads of old successful attempts.
CREATE INDEX deliveries_created ON deliveries (created_at) WHERE next_attempt_at IS NULL;
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX attempts_payload ON attempts (started_at) WHERE succeeded = 1 AND request_body != '';
