-- A webhook's own retry schedule: its waits in seconds, comma-separated
-- (NULL: the server's --retry-schedule).
ALTER TABLE webhooks ADD COLUMN retry_schedule TEXT;
