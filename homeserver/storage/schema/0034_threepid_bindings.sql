-- Where users bound their third-party IDs (POST /account/3pid/bind; docs/
-- admin-guide.md "Email and third-party IDs"): /account/3pid/unbind, /delete
-- and deactivation without an id_server unbind on these identity servers.
-- As Synapse's user_threepid_id_server. The address is kept as the identity
-- server answered it (email addresses lower-cased).
CREATE TABLE user_threepid_bindings (
    user_id TEXT NOT NULL,
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    id_server TEXT NOT NULL,
    PRIMARY KEY (user_id, medium, address, id_server)
);
