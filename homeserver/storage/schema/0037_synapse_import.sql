-- synctl import-synapse (docs/admin-guide.md, "Moving from Synapse"): which
-- steps of an import are done, and how far the long ones got, so that an
-- interrupted import resumes where it stopped.
CREATE TABLE synapse_import_steps (
    step TEXT PRIMARY KEY,
    -- How many source rows the step has imported so far.
    rows_done BIGINT NOT NULL DEFAULT 0,
    -- The step's resume point (the last source key imported), or NULL.
    position TEXT,
    -- When the step finished (ms since the epoch), NULL while in progress.
    done_ts BIGINT
);
