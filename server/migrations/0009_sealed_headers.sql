-- Extra header values are credentials as often as not (`X-Api-Key`): they are
-- sealed like the others. `headers` then maps each name to its sealed value
-- in base64; rows written before are sealed at start (`bootstrap`), and are
-- marked here only when they have nothing to seal.
ALTER TABLE webhooks ADD COLUMN headers_sealed INTEGER NOT NULL DEFAULT 0;
UPDATE webhooks SET headers_sealed = 1 WHERE headers = '{}';

-- The logs showed extra header values as sent: from now on they show `***`,
-- and so do the attempts recorded before (hookhub's own headers stay readable;
-- `authorization` was masked already).
UPDATE attempts SET request_headers = (
    SELECT json_group_object(key, CASE
        WHEN lower(key) IN ('content-type', 'user-agent', 'authorization', 'webhook-id',
                            'webhook-timestamp', 'webhook-signature', 'webhook-event') THEN value
        ELSE '***' END)
    FROM json_each(attempts.request_headers))
WHERE request_headers != '{}';
