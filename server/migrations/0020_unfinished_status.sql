-- The status indexes hold only deliveries that did not succeed: most
-- deliveries succeed at once, and each success moved an entry in both.
DROP INDEX deliveries_status;
DROP INDEX deliveries_webhook_status;
CREATE INDEX deliveries_status ON deliveries (status, id) WHERE status <> 'succeeded';
CREATE INDEX deliveries_webhook_status ON deliveries (webhook_id, status, id) WHERE status <> 'succeeded';
