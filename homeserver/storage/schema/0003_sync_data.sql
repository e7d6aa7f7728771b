-- Per-user data that /sync streams besides events: account data (with room
-- tags as the per-room m.tag account data), receipts, and to-device messages.
-- Typing notifications are ephemeral and live in memory only.

-- Account data, global (room_id '') and per room. One row per (user, room,
-- type); stream_id is the account_data stream position of its last write.
CREATE TABLE account_data (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    stream_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, type)
);
CREATE INDEX account_data_user_stream ON account_data (user_id, stream_id);

-- The latest receipt per (room, user, receipt type, thread); thread_id is ''
-- for an unthreaded receipt (a client-sent thread_id is never empty).
-- event_stream_ordering is the stream ordering of the receipted event, so that
-- receipts never move backwards and unread counts need no join.
CREATE TABLE receipts (
    room_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_stream_ordering BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    stream_id BIGINT NOT NULL,
    PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
);
CREATE INDEX receipts_room_stream ON receipts (room_id, stream_id);
CREATE INDEX receipts_user_room ON receipts (user_id, room_id);

-- To-device messages waiting for their device; each has its own to_device
-- stream position and is deleted once the device confirms it by syncing on.
CREATE TABLE device_inbox (
    stream_id BIGINT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    message_json TEXT NOT NULL
);
CREATE INDEX device_inbox_device ON device_inbox (user_id, device_id, stream_id);

-- sendToDevice transaction IDs, for idempotency. stream_id is the highest
-- position the request allocated: the newest row is never pruned, so the
-- stream resumes above every position ever handed out even when every inbox
-- has been emptied.
CREATE TABLE device_inbox_txns (
    sender TEXT NOT NULL,
    sender_device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    stream_id BIGINT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (sender, sender_device_id, txn_id)
);
