-- Claims look for due deliveries webhook by webhook, so that a webhook with a
-- long backlog (a slow target) costs a claim nothing when it is skipped: the
-- index by due time alone made every claim step over that whole backlog.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (webhook_id, next_attempt_at) WHERE next_attempt_at IS NOT NULL;
