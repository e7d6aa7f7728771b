-- What is already stored: relations of events that are neither rejected,
-- soft-failed nor redacted (SQLite's JSON functions; see the .postgres file).
INSERT INTO event_relations (event_id, relates_to_id, rel_type, aggregation_key,
        room_id, sender, type, stream_ordering)
    SELECT event_id,
        json_extract(json, '$.content."m.relates_to".event_id'),
        json_extract(json, '$.content."m.relates_to".rel_type'),
        CASE WHEN json_extract(json, '$.content."m.relates_to".rel_type')
                = 'm.annotation'
            AND json_type(json, '$.content."m.relates_to".key') = 'text'
            THEN json_extract(json, '$.content."m.relates_to".key') END,
        room_id, sender, type, stream_ordering
    FROM events
    WHERE rejected_reason IS NULL AND soft_failed = 0 AND redacted_by IS NULL
        AND json_type(json, '$.content."m.relates_to".rel_type') = 'text'
        AND json_type(json, '$.content."m.relates_to".event_id') = 'text'
        AND json_extract(json, '$.content."m.relates_to".rel_type') <> ''
        AND json_extract(json, '$.content."m.relates_to".event_id') <> '';

-- Each thread's newest (non-outlier) reply.
INSERT INTO threads (room_id, thread_id, latest_event_id, latest_stream_ordering)
    SELECT r.room_id, r.relates_to_id, r.event_id, r.stream_ordering
    FROM event_relations r JOIN events e ON e.event_id = r.event_id
    WHERE r.rel_type = 'm.thread' AND e.outlier = 0
        AND r.stream_ordering = (
            SELECT MAX(r2.stream_ordering)
            FROM event_relations r2 JOIN events e2 ON e2.event_id = r2.event_id
            WHERE r2.room_id = r.room_id AND r2.relates_to_id = r.relates_to_id
                AND r2.rel_type = 'm.thread' AND e2.outlier = 0);
