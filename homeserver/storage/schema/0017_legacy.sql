-- OpenID tokens, server notices rooms and guest accounts.

-- Tokens minted by POST /user/{userId}/openid/request_token, checked by
-- other servers through GET /_matrix/federation/v1/openid/userinfo.
CREATE TABLE openid_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    valid_until_ts BIGINT NOT NULL
);
CREATE INDEX openid_tokens_valid_until ON openid_tokens (valid_until_ts);

-- The room in which the server notices user talks to each user.
CREATE TABLE server_notices_rooms (
    user_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL
);

-- Guest accounts (register?kind=guest); upgraded to full ones in place.
ALTER TABLE users ADD COLUMN is_guest BOOLEAN NOT NULL DEFAULT FALSE;
