-- What is already stored: relations of events that are neither rejected,
-- soft-failed nor redacted (PostgreSQL's jsonb; see the .sqlite file).
INSERT INTO event_relations (event_id, relates_to_id, rel_type, aggregation_key,
        room_id, sender, type, stream_ordering)
    SELECT event_id, rel->>'event_id', rel->>'rel_type',
        CASE WHEN rel->>'rel_type' = 'm.annotation'
            AND jsonb_typeof(rel->'key') = 'string' THEN rel->>'key' END,
        room_id, sender, type, stream_ordering
    FROM (
        SELECT event_id, room_id, sender, type, stream_ordering,
            CASE WHEN jsonb_typeof(json::jsonb->'content'->'m.relates_to')
                = 'object' THEN json::jsonb->'content'->'m.relates_to' END AS rel
        FROM events
        WHERE rejected_reason IS NULL AND NOT soft_failed AND redacted_by IS NULL
    ) AS stored
    WHERE jsonb_typeof(rel->'rel_type') = 'string'
        AND jsonb_typeof(rel->'event_id') = 'string'
        AND rel->>'rel_type' <> '' AND rel->>'event_id' <> '';

-- Each thread's newest (non-outlier) reply.
INSERT INTO threads (room_id, thread_id, latest_event_id, latest_stream_ordering)
    SELECT r.room_id, r.relates_to_id, r.event_id, r.stream_ordering
    FROM event_relations r JOIN events e ON e.event_id = r.event_id
    WHERE r.rel_type = 'm.thread' AND e.outlier = FALSE
        AND r.stream_ordering = (
            SELECT MAX(r2.stream_ordering)
            FROM event_relations r2 JOIN events e2 ON e2.event_id = r2.event_id
            WHERE r2.room_id = r.room_id AND r2.relates_to_id = r.relates_to_id
                AND r2.rel_type = 'm.thread' AND e2.outlier = FALSE);
