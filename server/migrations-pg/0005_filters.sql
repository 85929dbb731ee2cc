-- A webhook's payload filter (JSON, checked when written): only events it
-- matches make a delivery.
ALTER TABLE webhooks ADD COLUMN filter TEXT;
