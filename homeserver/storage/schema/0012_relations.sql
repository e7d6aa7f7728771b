-- Event relationships (spec: "Event relationships", "Threading"): one row per
-- event whose content has an `m.relates_to` with a `rel_type` and an
-- `event_id`, written when the event is persisted and deleted when it is
-- redacted (a redacted relation is no relation any more). Rejected and
-- soft-failed events are never indexed. Readers join `events` for the
-- visibility flags (outliers are indexed but never served).
CREATE TABLE event_relations (
    event_id TEXT PRIMARY KEY,
    relates_to_id TEXT NOT NULL,
    rel_type TEXT NOT NULL,
    -- m.annotation's `key` (a reaction's emoji); NULL for other relations.
    aggregation_key TEXT,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL
);
CREATE INDEX event_relations_parent ON event_relations (relates_to_id, rel_type);
CREATE INDEX event_relations_annotations
    ON event_relations (relates_to_id, aggregation_key, sender);

-- One row per thread root that has at least one (unredacted, visible-kind)
-- m.thread child: the newest child, for GET /threads ordered by activity.
CREATE TABLE threads (
    room_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    latest_event_id TEXT NOT NULL,
    latest_stream_ordering BIGINT NOT NULL,
    PRIMARY KEY (room_id, thread_id)
);
CREATE INDEX threads_activity ON threads (room_id, latest_stream_ordering);
