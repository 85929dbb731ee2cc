-- The words of each event's data, for `search` on deliveries: a GIN index
-- over the data's words ('simple': lowercased, no stemming, no stop words).
CREATE INDEX event_words ON events USING gin (to_tsvector('simple', data));
