-- Thumbnails of local media (docs/media.md, "Thumbnails"): one row per stored
-- thumbnail file. width and height are the box it was made for (a configured
-- size, or the size asked for when dynamic_thumbnails is on), not the size of
-- the image inside, so that a request finds it again; animated is set for one
-- made for an animated=true request.
CREATE TABLE local_media_thumbnails (
    media_id TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    method TEXT NOT NULL,
    type TEXT NOT NULL,
    animated BOOLEAN NOT NULL DEFAULT FALSE,
    length BIGINT NOT NULL,
    UNIQUE (media_id, width, height, method, type, animated)
);
