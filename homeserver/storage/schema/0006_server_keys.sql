-- Other servers' signing keys, fetched directly or through a notary
-- (federation/keyring.py). valid_until_ts: usable for objects signed up to
-- then (for an old key, its expired_ts).
CREATE TABLE server_signing_keys (
    server_name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    verify_key TEXT NOT NULL,
    valid_until_ts BIGINT NOT NULL,
    is_old BOOLEAN NOT NULL,
    fetched_ts BIGINT NOT NULL,
    PRIMARY KEY (server_name, key_id)
);

-- The latest verified key response of each server, exactly as it signed it:
-- what we answer with as a notary.
CREATE TABLE server_key_responses (
    server_name TEXT NOT NULL PRIMARY KEY,
    response_json TEXT NOT NULL,
    valid_until_ts BIGINT NOT NULL,
    fetched_ts BIGINT NOT NULL
);
