-- The user admin API (docs/admin-guide.md, "Users"), as Synapse's columns of
-- the same names: a shadow-banned user's messages, invites and typing look
-- sent but go nowhere; a locked user cannot log in or use a token; an erased
-- user was deactivated with "erase": true (profile gone for good).
ALTER TABLE users ADD COLUMN shadow_banned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN locked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN erased BOOLEAN NOT NULL DEFAULT FALSE;
-- GET /_synapse/admin/v2/users?order_by=creation_ts pages through this.
CREATE INDEX users_created_ts ON users (created_ts);
