-- The room admin API (docs/admin-guide.md, "Rooms"). A blocked room cannot be
-- joined or invited into by local users (PUT /_synapse/admin/v1/rooms/{id}/block,
-- or a room deletion with "block": true); as Synapse's blocked_rooms.
CREATE TABLE blocked_rooms (
    room_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    blocked_ts BIGINT NOT NULL
);

-- Long admin jobs and their status: room deletions (v2), history purges and
-- redactions of a user's events. Kept in the database (Synapse keeps them in
-- memory) so a status survives a restart; a job that was running when the
-- server stopped is reported failed at the next start.
CREATE TABLE admin_tasks (
    task_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    -- The room (deletion, purge) or user (redaction) the job is about.
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    -- JSON: what the job has done so far (kicked users, failed redactions...).
    result TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    updated_ts BIGINT NOT NULL
);
CREATE INDEX admin_tasks_target ON admin_tasks (kind, target);
