-- What the console shows of a webhook's health without reading its logs:
-- when it was last attempted, the last failure in words (NULL after a
-- success), and since when it is switched off.
ALTER TABLE webhooks ADD COLUMN last_attempt_at INTEGER;
ALTER TABLE webhooks ADD COLUMN last_error TEXT;
ALTER TABLE webhooks ADD COLUMN disabled_at INTEGER;

UPDATE webhooks SET last_attempt_at =
    (SELECT MAX(started_at) FROM attempts WHERE attempts.webhook_id = webhooks.id);
UPDATE webhooks SET disabled_at = updated_at WHERE active = 0;
