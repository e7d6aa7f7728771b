-- Email notifications (docs/push.md, "Email notifications") and the
-- third-party IDs they are sent to.

-- A user's third-party identifiers (spec "Adding account administrative
-- contact information"), shaped as Synapse's table of that name: issue 16's
-- /account/3pid endpoints and login by email build on it. An address belongs
-- to at most one user. Email addresses are stored lower-cased.
CREATE TABLE user_threepids (
    user_id TEXT NOT NULL,
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    -- When the user proved they own it (ms since the epoch).
    validated_at BIGINT NOT NULL,
    -- When it was added to the account (ms since the epoch).
    added_at BIGINT NOT NULL,
    PRIMARY KEY (medium, address)
);
CREATE INDEX user_threepids_user ON user_threepids (user_id);

-- The back-off of an email pusher per room (as Synapse's pusher_throttle): a
-- room that was just mailed about waits throttle_ms after last_sent_ts
-- before it is mailed about again, and the wait grows while it stays busy.
CREATE TABLE email_pusher_throttle (
    pusher_id BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    last_sent_ts BIGINT NOT NULL,
    throttle_ms BIGINT NOT NULL,
    PRIMARY KEY (pusher_id, room_id)
);
