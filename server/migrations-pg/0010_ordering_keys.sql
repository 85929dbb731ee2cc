-- Ordering keys (docs/decisions.md, Delivery: "Ordering keys"): the
-- deliveries of one key to one webhook go one at a time, in the order their
-- events were accepted. `key_seq` is an event's place in its key; a keyed
-- delivery waits (pending, no due time) until it is its key's head.
ALTER TABLE deliveries ADD COLUMN ordering_key TEXT COLLATE "C", ADD COLUMN key_seq BIGINT;
ALTER TABLE fanouts ADD COLUMN ordering_key TEXT COLLATE "C", ADD COLUMN key_seq BIGINT;

-- Each key's places given so far; its row is also the lock that orders the
-- transactions writing or ending deliveries of the key.
CREATE TABLE ordering_keys (
    ordering_key TEXT COLLATE "C" PRIMARY KEY,
    last_seq     BIGINT NOT NULL,
    used_at      BIGINT NOT NULL
);
CREATE INDEX ordering_keys_used ON ordering_keys (used_at);

-- A key's unfinished deliveries in order: a key's head in one index probe.
CREATE INDEX deliveries_in_order ON deliveries (ordering_key, webhook_id, key_seq)
    WHERE ordering_key IS NOT NULL AND status IN ('pending', 'retrying', 'paused');
-- Keyed events whose deliveries are still to be written hold their keys back.
CREATE INDEX fanouts_in_order ON fanouts (ordering_key, key_seq) WHERE ordering_key IS NOT NULL;
