-- Server-side key backups (client-server API, "Server-side key backups").

-- One row per backup version a user created. Version numbers count up per
-- user and are never reused: a deleted version keeps its row, marked deleted
-- (so deleting it again succeeds, and a client still holding an old version
-- can never name a newer backup). The current version is the highest one not
-- deleted. etag counts the changes to the version's keys.
CREATE TABLE key_backup_versions (
    user_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    algorithm TEXT NOT NULL,
    auth_data TEXT NOT NULL,
    etag BIGINT NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, version)
);

-- The backed-up Megolm session keys of each version. session_data is the
-- client's encrypted JSON, opaque to the server; the other columns are what
-- decides which of two uploads of one session is kept.
CREATE TABLE key_backup_sessions (
    user_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    first_message_index BIGINT NOT NULL,
    forwarded_count BIGINT NOT NULL,
    is_verified BOOLEAN NOT NULL,
    session_data TEXT NOT NULL,
    PRIMARY KEY (user_id, version, room_id, session_id)
);
