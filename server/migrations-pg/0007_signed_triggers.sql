-- Triggers whose callers sign their bodies: `auth_type` may be `signature`,
-- `auth_scheme` says how (`github`, ..., `hmac sha256 hex X-Signature`); the
-- secret is sealed in auth_password.
ALTER TABLE triggers DROP CONSTRAINT triggers_auth_type_check;
ALTER TABLE triggers ADD CONSTRAINT triggers_auth_type_check
    CHECK (auth_type IN ('none', 'basic', 'bearer', 'signature'));
ALTER TABLE triggers ADD COLUMN auth_scheme TEXT;

-- Why a refused call was refused, when there is more to say than its outcome.
ALTER TABLE trigger_calls ADD COLUMN reason TEXT;
