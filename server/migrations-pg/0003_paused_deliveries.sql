-- Deliveries paused while hookhub has their webhook switched off, the probes
-- that look for its recovery, and the probes' own deliveries marked as such.
ALTER TABLE deliveries
    DROP CONSTRAINT deliveries_status_check,
    ADD CONSTRAINT deliveries_status_check
        CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed', 'paused')),
    -- sent to a switched-off webhook to see if it is back
    ADD COLUMN probe BOOLEAN NOT NULL DEFAULT FALSE;

-- When hookhub next probes a webhook it switched off; NULL otherwise.
-- Webhooks already switched off by hookhub are probed at once.
ALTER TABLE webhooks ADD COLUMN next_probe_at BIGINT;
UPDATE webhooks SET next_probe_at = (extract(epoch FROM now()) * 1000)::BIGINT
    WHERE NOT active AND disabled_reason IS NOT NULL;
