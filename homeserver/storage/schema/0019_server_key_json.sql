-- The notary's cache, per key: for each (server, key ID), the latest verified
-- key response that listed the key (under verify_keys or old_verify_keys),
-- exactly as the server signed it. Kept per key so that a later response
-- leaving a key out (a server that forgot it, or a spurious answer) never
-- makes the notary forget it (Synapse keeps server_keys_json the same way).
-- Replaces the one-response-per-server server_key_responses (a cache: it is
-- refilled from the servers as keys are asked for).
CREATE TABLE server_key_json (
    server_name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    response_json TEXT NOT NULL,
    valid_until_ts BIGINT NOT NULL,
    fetched_ts BIGINT NOT NULL,
    PRIMARY KEY (server_name, key_id)
);

DROP TABLE server_key_responses;
