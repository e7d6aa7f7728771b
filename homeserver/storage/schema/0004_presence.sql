-- Presence (client-server API, "Presence"): each user's latest presence.
--
-- One row per user, rewritten with a new position of the "presence" stream
-- whenever a change is worth telling clients about; /sync reads the rows
-- whose stream_id falls in its (since, upto] range. Changes clients need not
-- hear about (a sync ending, activity while already marked active) are kept
-- in memory and written with the next row update.
CREATE TABLE user_presence (
    user_id TEXT PRIMARY KEY,
    -- online, unavailable or offline.
    state TEXT NOT NULL,
    status_msg TEXT,
    last_active_ts BIGINT NOT NULL,
    last_user_sync_ts BIGINT NOT NULL,
    currently_active BOOLEAN NOT NULL DEFAULT FALSE,
    stream_id BIGINT NOT NULL
);
CREATE INDEX user_presence_stream ON user_presence (stream_id);
