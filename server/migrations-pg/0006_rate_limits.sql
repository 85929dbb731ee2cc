-- A webhook's rate limit, in deliveries a second (NULL: none).
ALTER TABLE webhooks ADD COLUMN rate_limit BIGINT;
