-- URL previews (docs/media.md "URL previews"): one row per preview made, kept
-- until it expires. url_hash (SHA-256 hex of url) is what is indexed: URLs
-- can be longer than an index entry may be. og is the preview's JSON;
-- image_media_id the local media ID of its stored image, if any.
CREATE TABLE url_cache (
    url_hash TEXT NOT NULL,
    url TEXT NOT NULL,
    download_ts BIGINT NOT NULL,
    expires_ts BIGINT NOT NULL,
    response_code INTEGER NOT NULL,
    og TEXT NOT NULL,
    image_media_id TEXT
);
CREATE INDEX url_cache_by_url ON url_cache (url_hash, download_ts);
CREATE INDEX url_cache_by_expiry ON url_cache (expires_ts);
