-- Remote media over federation (docs/media.md "Remote media over federation"):
-- one row per other server's file this server fetched and keeps a copy of.
-- The bytes live at remote_content/<server>/<filesystem_id, sharded>; the
-- filesystem_id is ours (random), never the remote's media ID. A row is
-- written only after its file, so a row always has a file (retention and
-- the admin purge delete the file first, then the row).
CREATE TABLE remote_media_cache (
    server_name TEXT NOT NULL,
    media_id TEXT NOT NULL,
    media_type TEXT,
    upload_name TEXT,
    media_length BIGINT NOT NULL,
    created_ts BIGINT NOT NULL,
    last_access_ts BIGINT NOT NULL,
    filesystem_id TEXT NOT NULL,
    -- Fetched for an authenticated (client v1) download, or a legacy one.
    authenticated BOOLEAN NOT NULL DEFAULT FALSE,
    quarantined BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (server_name, media_id)
);
-- Retention and purge_media_cache walk the cache by last access.
CREATE INDEX remote_media_cache_by_access ON remote_media_cache (last_access_ts);

-- Thumbnails of cached remote media (made here from the cached original, as
-- Synapse does), at remote_thumbnails/<server>/<filesystem_id, sharded>/<w>-<h>-<type>-<method>.
CREATE TABLE remote_media_cache_thumbnails (
    server_name TEXT NOT NULL,
    media_id TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    method TEXT NOT NULL,
    media_type TEXT NOT NULL,
    animated BOOLEAN NOT NULL DEFAULT FALSE,
    media_length BIGINT NOT NULL,
    filesystem_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (server_name, media_id, width, height, method, media_type, animated)
);
