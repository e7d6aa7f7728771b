-- The content repository (docs/media.md): one row per media ID this server
-- handed out. A row with media_length NULL is a pending asynchronous upload
-- (POST /media/v1/create) that may be uploaded until unused_expires_ts.
CREATE TABLE local_media (
    media_id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL,
    media_type TEXT,
    upload_name TEXT,
    media_length BIGINT,
    created_ts BIGINT NOT NULL,
    unused_expires_ts BIGINT,
    quarantined BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX local_media_by_user ON local_media (user_id, created_ts);
