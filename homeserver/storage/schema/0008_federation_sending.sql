-- Outbound federation (server-server API, "Transactions") and device lists.
--
-- The sender walks the events stream; for each local event it queues one row
-- per destination server in federation_outbox_pdus, in the same transaction as
-- moving its own position on. A destination's rows are deleted only once the
-- destination acknowledged the transaction carrying them, so events missed
-- while it was down (or while we were) are sent on reconnect, in order.

-- The sender's own position in the events stream (stream = 'events').
CREATE TABLE federation_stream_position (
    stream TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

-- One row per destination we ever queued for: its progress and its backoff.
CREATE TABLE federation_destinations (
    destination TEXT PRIMARY KEY,
    -- The stream ordering of the last PDU the destination acknowledged.
    last_successful_stream_ordering BIGINT NOT NULL DEFAULT 0,
    -- When the current run of failures started (NULL: it is healthy).
    failure_ts BIGINT,
    -- The last failed attempt, and the wait after it before the next one.
    retry_last_ts BIGINT NOT NULL DEFAULT 0,
    retry_interval BIGINT NOT NULL DEFAULT 0
);

-- PDUs waiting for a destination, in stream order.
CREATE TABLE federation_outbox_pdus (
    destination TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (destination, stream_ordering)
);

-- EDUs that must not be lost (to-device messages, device list updates);
-- typing, receipts and presence are only queued in memory.
CREATE TABLE federation_outbox_edus (
    destination TEXT NOT NULL,
    edu_id BIGINT NOT NULL,
    edu_type TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (destination, edu_id)
);

-- Every change to a user's device list, local or remote: the device_lists
-- stream /sync reads (device_lists.changed). For a local user the stream_id
-- is also the m.device_list_update stream_id, and prev_id the one before.
CREATE TABLE device_lists_stream (
    stream_id BIGINT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL
);
CREATE INDEX device_lists_stream_user ON device_lists_stream (user_id, stream_id);

-- The latest m.device_list_update stream_id seen from each remote user.
CREATE TABLE device_lists_remote (
    user_id TEXT PRIMARY KEY,
    stream_id BIGINT NOT NULL
);

