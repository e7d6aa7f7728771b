-- Accounts, devices, tokens, profiles, registration tokens and UIA sessions.

CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    password_hash TEXT,
    created_ts BIGINT NOT NULL,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    deactivated BOOLEAN NOT NULL DEFAULT FALSE,
    user_type TEXT
);

CREATE TABLE profiles (
    user_id TEXT PRIMARY KEY,
    displayname TEXT,
    avatar_url TEXT
);

CREATE TABLE devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    display_name TEXT,
    last_seen_ts BIGINT,
    last_seen_ip TEXT,
    last_seen_user_agent TEXT,
    PRIMARY KEY (user_id, device_id)
);

-- Only SHA-256 hashes of tokens are stored.
CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    valid_until_ts BIGINT,
    refresh_token_hash TEXT,
    used BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    expiry_ts BIGINT,
    next_token_hash TEXT
);
CREATE INDEX refresh_tokens_device ON refresh_tokens (user_id, device_id);

CREATE TABLE login_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expiry_ts BIGINT NOT NULL
);

CREATE TABLE registration_tokens (
    token TEXT PRIMARY KEY,
    uses_allowed INTEGER,
    pending INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    expiry_time BIGINT
);

CREATE TABLE ui_auth_sessions (
    session_id TEXT PRIMARY KEY,
    creation_ts BIGINT NOT NULL,
    uri TEXT NOT NULL,
    method TEXT NOT NULL,
    clientdict TEXT NOT NULL,
    completed TEXT NOT NULL,
    serverdict TEXT NOT NULL
);

CREATE TABLE registration_nonces (
    nonce TEXT PRIMARY KEY,
    created_ts BIGINT NOT NULL
);

-- Custom profile fields (spec v1.16), JSON-encoded values.
CREATE TABLE profile_fields (
    user_id TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, field)
);
