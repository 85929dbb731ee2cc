-- The words of each event's data, for `search` on deliveries: an FTS5 index
-- without a copy of the text (the events keep it), kept by triggers as
-- events come and go. It is matched by rowid, which VACUUM may renumber:
-- `scrub` builds it again after one.
CREATE VIRTUAL TABLE event_words USING fts5(data, content = '', contentless_delete = 1);
INSERT INTO event_words (rowid, data) SELECT rowid, data FROM events;
CREATE TRIGGER event_words_added AFTER INSERT ON events BEGIN
    INSERT INTO event_words (rowid, data) VALUES (new.rowid, new.data);
END;
CREATE TRIGGER event_words_removed AFTER DELETE ON events BEGIN
    DELETE FROM event_words WHERE rowid = old.rowid;
END;
