-- Media limits and lifecycle (docs/media.md, "Limits", "Retention", "Legacy
-- media freeze").
-- last_access_ts: when the file (or a thumbnail of it) was last served, in ms;
-- NULL when never served since upload. Written in batches, at most once a
-- minute per media (services/media/access.py), and read by the retention job.
-- authenticated: uploaded while media.enable_authenticated_media was on, so
-- that the legacy unauthenticated download and thumbnail routes do not serve
-- it. Rows from before this migration are FALSE: they stay served there.
ALTER TABLE local_media ADD COLUMN last_access_ts BIGINT;
ALTER TABLE local_media ADD COLUMN authenticated BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX local_media_last_access ON local_media (last_access_ts);
