-- Push actions (client-server API, "Push Notifications"): for each new live
-- event, the notifying actions of each local user whose push rules it matched
-- (docs/push.md, "Unread counts and notifications").
--
-- Written in the event's own persist transaction, so a reader that can see
-- the event's stream position sees its push actions too. They drive the
-- unread and highlight counts of /sync (the rows after the user's read
-- receipt for the room or thread), GET /notifications, and the pushers.
--
-- Retention: actions the user has read are deleted once older than 30 days
-- (as long as Synapse keeps /notifications); unread ones stay until read.
CREATE TABLE event_push_actions (
    user_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    -- 'main', or the thread root's event ID for a reply in a thread.
    thread_id TEXT NOT NULL,
    -- 1 when the actions set the highlight tweak, else 0.
    highlight SMALLINT NOT NULL,
    -- The actions as JSON (the rule's actions without the legacy no-ops).
    actions TEXT NOT NULL,
    received_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, event_id)
);
-- Counts per room after a receipt, and /notifications and pushers per user.
CREATE INDEX event_push_actions_room ON event_push_actions
    (user_id, room_id, stream_ordering);
CREATE INDEX event_push_actions_user ON event_push_actions
    (user_id, stream_ordering);
-- Pruning by age.
CREATE INDEX event_push_actions_ts ON event_push_actions (received_ts);
