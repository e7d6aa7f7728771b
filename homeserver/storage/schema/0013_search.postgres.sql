-- Full-text search over room events (POST /search): PostgreSQL tsvector with
-- a GIN index, in the 'english' text search configuration (as Synapse).
CREATE TABLE event_search (
    event_id TEXT NOT NULL PRIMARY KEY,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    -- content.body, content.name or content.topic
    key TEXT NOT NULL,
    vector TSVECTOR NOT NULL
);
CREATE INDEX event_search_room ON event_search (room_id);
CREATE INDEX event_search_fts_idx ON event_search USING GIN (vector);
-- What is already stored: messages, room names and topics in the DAG that are
-- neither redacted, rejected nor soft-failed. (JSON with a \u0000 escape,
-- which jsonb refuses, is left out.)
INSERT INTO event_search (event_id, room_id, sender, key, vector)
    SELECT event_id, room_id, sender, key, to_tsvector('english', value)
    FROM (
        SELECT event_id, room_id, sender,
            CASE type WHEN 'm.room.message' THEN 'content.body'
                WHEN 'm.room.name' THEN 'content.name'
                ELSE 'content.topic' END AS key,
            CASE type WHEN 'm.room.message' THEN json::jsonb -> 'content' ->> 'body'
                WHEN 'm.room.name' THEN json::jsonb -> 'content' ->> 'name'
                ELSE json::jsonb -> 'content' ->> 'topic' END AS value,
            CASE type WHEN 'm.room.message' THEN jsonb_typeof(json::jsonb -> 'content' -> 'body')
                WHEN 'm.room.name' THEN jsonb_typeof(json::jsonb -> 'content' -> 'name')
                ELSE jsonb_typeof(json::jsonb -> 'content' -> 'topic') END AS kind
        FROM events
        WHERE NOT outlier AND rejected_reason IS NULL AND NOT soft_failed
            AND redacted_by IS NULL AND strpos(json, '\u0000') = 0
            AND (type = 'm.room.message'
                OR (type IN ('m.room.name', 'm.room.topic') AND state_key = ''))
    ) AS candidates
    WHERE kind = 'string';
