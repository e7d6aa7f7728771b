-- Full-text search over room events (POST /search): SQLite FTS5.
-- One row per indexed event in event_search; its id is the rowid of the
-- event's row in the FTS5 table, so an event is unindexed by its id.
CREATE TABLE event_search (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    -- content.body, content.name or content.topic
    key TEXT NOT NULL
);
CREATE INDEX event_search_room ON event_search (room_id);
CREATE VIRTUAL TABLE event_search_fts USING fts5 (
    value, tokenize = 'porter unicode61 remove_diacritics 2'
);
-- What is already stored: messages, room names and topics in the DAG that are
-- neither redacted, rejected nor soft-failed.
INSERT INTO event_search (event_id, room_id, sender, key)
    SELECT event_id, room_id, sender,
        CASE type WHEN 'm.room.message' THEN 'content.body'
            WHEN 'm.room.name' THEN 'content.name' ELSE 'content.topic' END
    FROM events
    WHERE outlier = 0 AND rejected_reason IS NULL AND soft_failed = 0
        AND redacted_by IS NULL
        AND ((type = 'm.room.message'
                AND json_type(json, '$.content.body') = 'text')
            OR (type = 'm.room.name' AND state_key = ''
                AND json_type(json, '$.content.name') = 'text')
            OR (type = 'm.room.topic' AND state_key = ''
                AND json_type(json, '$.content.topic') = 'text'))
    ORDER BY stream_ordering;
INSERT INTO event_search_fts (rowid, value)
    SELECT s.id, json_extract(e.json, '$.' || s.key)
    FROM event_search AS s JOIN events AS e ON e.event_id = s.event_id;
