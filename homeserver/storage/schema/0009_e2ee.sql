-- End-to-end encryption keys (client-server API, "End-to-End Encryption").
-- The server stores and hands out public keys; it never sees a private key or
-- a plaintext message.

-- A device's identity keys: the signed device_keys object it uploaded.
CREATE TABLE e2e_device_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

-- One-time keys, each handed out once by /keys/claim (then deleted).
CREATE TABLE e2e_one_time_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, algorithm, key_id)
);

-- One fallback key per device and algorithm, handed out when no one-time key
-- is left; it stays until replaced. used: it was handed out at least once.
CREATE TABLE e2e_fallback_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    used SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, device_id, algorithm)
);

-- Cross-signing keys (master, self_signing, user_signing), local and remote
-- (a remote user's come with their device list and m.signing_key_update).
CREATE TABLE e2e_cross_signing_keys (
    user_id TEXT NOT NULL,
    key_type TEXT NOT NULL,
    key_json TEXT NOT NULL,
    PRIMARY KEY (user_id, key_type)
);

-- Signatures uploaded through /keys/signatures/upload, kept apart from the
-- keys they sign: signer user_id with its key_id, over target_user_id's key
-- target_key_id (a device ID, or the base64 public key of a master key).
CREATE TABLE e2e_signatures (
    user_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    target_user_id TEXT NOT NULL,
    target_key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (user_id, key_id, target_user_id, target_key_id)
);
CREATE INDEX e2e_signatures_target ON e2e_signatures (target_user_id, target_key_id);

-- Other servers' users' devices, as their server last told us (the remote
-- device list cache). A user is cached when device_lists_remote has a row for
-- them and device_lists_remote_stale has none.
CREATE TABLE remote_devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    display_name TEXT,
    key_json TEXT,
    PRIMARY KEY (user_id, device_id)
);

-- Remote users whose cached device list missed an update: resync before use.
CREATE TABLE device_lists_remote_stale (
    user_id TEXT PRIMARY KEY,
    since_ts BIGINT NOT NULL
);
-- Users seen before this cache existed have no cached devices yet.
INSERT INTO device_lists_remote_stale (user_id, since_ts)
    SELECT user_id, 0 FROM device_lists_remote;

-- Membership changes by position: /sync's device_lists (who newly shares, or
-- no longer shares, a room with the user).
CREATE INDEX room_memberships_stream ON room_memberships (stream_ordering);
