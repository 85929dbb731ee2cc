-- Triggers whose callers sign their bodies: `auth_type` may be `signature`
-- (a CHECK, so the table is rebuilt), `auth_scheme` says how (`github`, ...,
-- `hmac sha256 hex X-Signature`); the secret is sealed in auth_password.
CREATE TABLE triggers_new (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL UNIQUE, -- 192 random bits: the URL is unguessable
    method        TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    params        TEXT NOT NULL,        -- JSON object: parameter -> required value
    auth_type     TEXT NOT NULL CHECK (auth_type IN ('none', 'basic', 'bearer', 'signature')),
    auth_username TEXT,
    auth_password BLOB,                 -- sealed basic password or signing secret
    token_hash    BLOB,                 -- SHA-256 of the generated bearer token
    auth_scheme   TEXT,                 -- how a signature is made
    event_type    TEXT NOT NULL,
    response      TEXT NOT NULL CHECK (response IN ('outputs', 'status')),
    author_id     TEXT NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
INSERT INTO triggers_new (id, name, slug, method, params, auth_type, auth_username, auth_password,
    token_hash, event_type, response, author_id, created_at, updated_at)
SELECT id, name, slug, method, params, auth_type, auth_username, auth_password,
    token_hash, event_type, response, author_id, created_at, updated_at
FROM triggers;
DROP TABLE triggers;
ALTER TABLE triggers_new RENAME TO triggers;

-- Why a refused call was refused, when there is more to say than its outcome.
ALTER TABLE trigger_calls ADD COLUMN reason TEXT;
