-- Pushers (client-server API, "Push Notifications": POST /pushers/set):
-- where a user's notifications are delivered (docs/push.md, "Pushers").
--
-- One row per (user, app_id, pushkey). The device that set a pusher is kept
-- so that logging it out (or deleting it) removes its pushers. The position
-- (the last push action handled) and the failure state live here too, so a
-- restart resumes where the pusher was: nothing delivered twice or lost.
CREATE TABLE pushers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    -- The device whose access token set it (NULL: an application service
    -- acting without a device).
    device_id TEXT,
    kind TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    app_display_name TEXT NOT NULL,
    device_display_name TEXT NOT NULL,
    profile_tag TEXT,
    lang TEXT,
    -- The pusher's data as JSON (url, format, ...).
    data TEXT NOT NULL,
    -- When the pushkey was set or last updated (pushkey_ts of the gateway API).
    pushkey_ts BIGINT NOT NULL,
    -- The stream_ordering of the last push action handled (delivered or
    -- skipped); the next one is after it.
    last_stream_ordering BIGINT NOT NULL,
    last_success_ts BIGINT,
    -- When the current run of failures started (NULL: healthy).
    failing_since BIGINT,
    UNIQUE (user_id, app_id, pushkey)
);
-- POST /pushers/set without append removes other users' pushers of the
-- same app_id and pushkey.
CREATE INDEX pushers_app_pushkey ON pushers (app_id, pushkey);
