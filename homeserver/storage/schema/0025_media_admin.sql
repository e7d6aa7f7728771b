-- The media admin API (docs/media.md, "Admin API"): who quarantined a file
-- (Synapse's quarantined_by; quarantined stays the flag that downloads check),
-- and files an admin protected from quarantine (stickers, shared emotes).
ALTER TABLE local_media ADD COLUMN quarantined_by TEXT;
ALTER TABLE local_media ADD COLUMN safe_from_quarantine BOOLEAN NOT NULL DEFAULT FALSE;
