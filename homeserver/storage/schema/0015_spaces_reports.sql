-- Spaces: GET /hierarchy pagination sessions (the rooms still to visit,
-- kept for a few minutes), as Synapse keeps them.
CREATE TABLE hierarchy_sessions (
    session_id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL,
    value TEXT NOT NULL,
    expiry_ts BIGINT NOT NULL
);
CREATE INDEX hierarchy_sessions_expiry ON hierarchy_sessions (expiry_ts);
