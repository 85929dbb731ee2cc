-- A row of a trigger's call log may stand for many refused calls alike (the
-- same outcome within a minute): `count` of them, the last at `last_called_at`.
ALTER TABLE trigger_calls ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE trigger_calls ADD COLUMN last_called_at INTEGER;
CREATE INDEX trigger_calls_outcome ON trigger_calls (trigger_id, outcome, id);

-- Wrong credentials, counted per key (an account and an address, or an
-- address alone), shared by every instance: after a few, each attempt waits
-- longer than the one before, until `allowed_at`.
CREATE TABLE throttles (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    allowed_at   INTEGER NOT NULL
);
CREATE INDEX throttles_last_failure ON throttles (last_failure);

-- Events accepted whose deliveries are still to be written: a transaction
-- writes a bounded number of deliveries, and the rest follow in slices.
CREATE TABLE fanouts (
    event_id   TEXT PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX fanouts_created ON fanouts (created_at);
