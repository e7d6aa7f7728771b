-- Reports of events, rooms and users (the ids are the admin API's report IDs).
CREATE TABLE event_reports (
    id BIGSERIAL PRIMARY KEY,
    received_ts BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    reason TEXT,
    content TEXT NOT NULL
);
CREATE TABLE room_reports (
    id BIGSERIAL PRIMARY KEY,
    received_ts BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE user_reports (
    id BIGSERIAL PRIMARY KEY,
    received_ts BIGINT NOT NULL,
    target_user_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX event_reports_received ON event_reports (received_ts);
CREATE INDEX event_reports_room ON event_reports (room_id);
CREATE INDEX room_reports_received ON room_reports (received_ts);
CREATE INDEX user_reports_received ON user_reports (received_ts);
