-- Timestamps are Unix milliseconds (INTEGER), so that the schema reads the
-- same on SQLite and PostgreSQL (BIGINT).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

-- Bearer tokens, stored as SHA-256 of the token: a leaked database holds no usable token.
CREATE TABLE api_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);

CREATE TABLE webhooks (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL, -- JSON array of event patterns
    active                INTEGER NOT NULL,
    method                TEXT NOT NULL,
    auth_type             TEXT NOT NULL CHECK (auth_type IN ('none', 'basic', 'bearer')),
    auth_username         TEXT,
    auth_secret           BLOB,          -- sealed basic password or bearer token
    data_location         TEXT,
    headers               TEXT NOT NULL, -- JSON object
    secret                BLOB NOT NULL, -- sealed whsec_ signing secret
    previous_secret       BLOB,          -- sealed; still signs until previous_secret_until
    previous_secret_until INTEGER,
    author_id             TEXT NOT NULL REFERENCES users (id),
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    disabled_reason       TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
