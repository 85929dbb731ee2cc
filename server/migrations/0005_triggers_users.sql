-- Inbound triggers: outside systems call /hooks/{slug} to start a fan-out.
CREATE TABLE triggers (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL UNIQUE, -- 192 random bits: the URL is unguessable
    method        TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    params        TEXT NOT NULL,        -- JSON object: parameter -> required value
    auth_type     TEXT NOT NULL CHECK (auth_type IN ('none', 'basic', 'bearer')),
    auth_username TEXT,
    auth_password BLOB,                 -- sealed basic password
    token_hash    BLOB,                 -- SHA-256 of the generated bearer token
    event_type    TEXT NOT NULL,
    response      TEXT NOT NULL CHECK (response IN ('outputs', 'status')),
    author_id     TEXT NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Every call of a trigger URL and how it ended.
CREATE TABLE trigger_calls (
    id          INTEGER PRIMARY KEY,
    trigger_id  TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
    called_at   INTEGER NOT NULL,
    caller      TEXT NOT NULL,   -- the caller's address
    outcome     TEXT NOT NULL,   -- accepted, unauthorized, method_not_allowed, invalid
    status_code INTEGER NOT NULL,
    event_id    TEXT
);
CREATE INDEX trigger_calls_trigger ON trigger_calls (trigger_id, id);
CREATE INDEX trigger_calls_called ON trigger_calls (called_at);
