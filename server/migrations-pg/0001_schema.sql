-- hookhub on PostgreSQL: the same tables and columns as the SQLite schema
-- after all of `migrations/` (tests/api/postgres.rs checks that they stay
-- alike), in PostgreSQL's types. Times are Unix milliseconds (BIGINT); JSON
-- is kept as text, as on SQLite, and parsed by hookhub. Ids and event types
-- that pages and filters compare are in byte order (COLLATE "C"), as on
-- SQLite, whatever the database's collation.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_username_any_case ON users (lower(username));

-- Bearer tokens, stored as SHA-256 of the token: a leaked database holds no usable token.
CREATE TABLE api_tokens (
    token_hash BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

CREATE TABLE webhooks (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL, -- JSON array of event patterns
    active                BOOLEAN NOT NULL,
    method                TEXT NOT NULL,
    auth_type             TEXT NOT NULL CHECK (auth_type IN ('none', 'basic', 'bearer')),
    auth_username         TEXT,
    auth_secret           BYTEA,         -- sealed basic password or bearer token
    data_location         TEXT,
    headers               TEXT NOT NULL, -- JSON object: name -> sealed value in base64
    headers_sealed        BOOLEAN NOT NULL DEFAULT TRUE,
    secret                BYTEA NOT NULL, -- sealed whsec_ signing secret
    previous_secret       BYTEA,          -- sealed; still signs until previous_secret_until
    previous_secret_until BIGINT,
    author_id             TEXT NOT NULL REFERENCES users (id),
    consecutive_failures  BIGINT NOT NULL DEFAULT 0,
    failing_since         BIGINT,         -- the first failure since the last success
    disabled_reason       TEXT,
    disabled_at           BIGINT,
    last_attempt_at       BIGINT,
    last_error            TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);

CREATE TABLE objects (
    module     TEXT NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    data       TEXT NOT NULL, -- JSON object, `id` included
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (module, id)
);

CREATE TABLE events (
    id             TEXT PRIMARY KEY,
    type           TEXT NOT NULL,
    data           TEXT NOT NULL, -- JSON
    changed_fields TEXT,          -- JSON array, updates only
    previous       TEXT,          -- JSON object, updates only
    created_at     BIGINT NOT NULL
);
CREATE INDEX events_created ON events (created_at);

-- One row per event and matching webhook, written in the event's transaction.
-- Its id is the `webhook-id` header of every attempt.
CREATE TABLE deliveries (
    id               TEXT COLLATE "C" PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES events (id),
    event_type       TEXT COLLATE "C" NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed')),
    attempt_count    BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,  -- when it is due; NULL once succeeded or failed
    lease_until      BIGINT,  -- an instance holds it until then; expired leases come back
    single_attempt   BOOLEAN NOT NULL DEFAULT FALSE,
    last_status_code BIGINT,
    last_error       TEXT,
    last_duration_ms BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
) WITH (fillfactor = 70); -- room on each page to lease a row in place (no index changes)
CREATE INDEX deliveries_due ON deliveries (webhook_id, next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_status ON deliveries (status, id);
CREATE INDEX deliveries_event_type ON deliveries (event_type, id);
CREATE INDEX deliveries_webhook_status ON deliveries (webhook_id, status, id);
CREATE INDEX deliveries_webhook_event_type ON deliveries (webhook_id, event_type, id);
CREATE INDEX deliveries_created ON deliveries (created_at) WHERE next_attempt_at IS NULL;
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE attempts (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id        TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    webhook_id         TEXT NOT NULL,
    succeeded          BOOLEAN NOT NULL,
    started_at         BIGINT NOT NULL,
    duration_ms        BIGINT NOT NULL,
    request_method     TEXT NOT NULL,
    request_url        TEXT NOT NULL,
    request_headers    TEXT NOT NULL, -- JSON object, credentials masked
    request_body       TEXT NOT NULL,
    body_from_event    BOOLEAN NOT NULL DEFAULT FALSE, -- the body is the event's, rendered again
    body_location      TEXT,
    response_status    BIGINT,
    response_headers   TEXT,          -- JSON object
    response_body      TEXT,          -- at most 64 KiB
    response_truncated BOOLEAN NOT NULL DEFAULT FALSE,
    error_class        TEXT,
    error              TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);
CREATE INDEX attempts_webhook ON attempts (webhook_id, started_at);
CREATE INDEX attempts_started ON attempts (started_at);
CREATE INDEX attempts_payload ON attempts (started_at)
    WHERE succeeded AND (request_body != '' OR body_from_event);

CREATE TABLE triggers (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL UNIQUE, -- 192 random bits: the URL is unguessable
    method        TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    params        TEXT NOT NULL,        -- JSON object: parameter -> required value
    auth_type     TEXT NOT NULL CHECK (auth_type IN ('none', 'basic', 'bearer')),
    auth_username TEXT,
    auth_password BYTEA,                -- sealed basic password
    token_hash    BYTEA,                -- SHA-256 of the generated bearer token
    event_type    TEXT NOT NULL,
    response      TEXT NOT NULL CHECK (response IN ('outputs', 'status')),
    author_id     TEXT NOT NULL REFERENCES users (id),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE trigger_calls (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger_id  TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
    called_at   BIGINT NOT NULL,
    caller      TEXT NOT NULL,   -- the caller's address
    outcome     TEXT NOT NULL,   -- accepted, unauthorized, method_not_allowed, invalid, throttled
    status_code BIGINT NOT NULL,
    event_id    TEXT
);
CREATE INDEX trigger_calls_trigger ON trigger_calls (trigger_id, id);
CREATE INDEX trigger_calls_called ON trigger_calls (called_at);
