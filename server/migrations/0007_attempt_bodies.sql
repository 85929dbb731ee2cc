-- An attempt's request body is its delivery's event as the webhook shaped it
-- (envelope, or the data nested at `body_location`): rendered again from the
-- event when shown, instead of a copy per attempt. `request_body` keeps the
-- body of attempts recorded before, and '' once payload retention dropped it.
ALTER TABLE attempts ADD COLUMN body_from_event INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN body_location TEXT;
DROP INDEX attempts_payload;
CREATE INDEX attempts_payload ON attempts (started_at)
    WHERE succeeded = 1 AND (request_body != '' OR body_from_event = 1);
