-- Delete for me (a Chatly extension, docs/extensions/delete-for-me.md): the
-- events each user has hidden from their own view. Nobody else is affected;
-- the event itself is untouched.
CREATE TABLE hidden_events (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    hidden_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, event_id)
);
CREATE INDEX hidden_events_by_room ON hidden_events (user_id, room_id, hidden_ts);
