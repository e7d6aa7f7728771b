-- Worker mode (docs/scaling.md, "Faults"): device list changes a process
-- could not hand to the device_lists stream's writer (down past the internal
-- client's retries) after the request that made them was answered. The
-- writer records them when it starts, and when the process that stored them
-- wakes it; nothing a client was told is done is lost.
CREATE TABLE device_list_undelivered (
    change_id TEXT PRIMARY KEY,
    stored_ts BIGINT NOT NULL,
    -- The change as the writer's endpoint takes it (JSON).
    change TEXT NOT NULL
);
