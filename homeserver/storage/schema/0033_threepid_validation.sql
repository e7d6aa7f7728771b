-- Email validation sessions (issue 16; docs/admin-guide.md "Email and
-- third-party IDs"): a requestToken call opens or continues one, its mail
-- carries a short numeric code and a link, and either validates it.
-- Shaped after Synapse's threepid_validation_session, with the current token
-- kept on the session (only one is live at a time) and only as hashes.
CREATE TABLE threepid_validation_sessions (
    session_id TEXT NOT NULL PRIMARY KEY,
    -- register | password_reset | add_threepid: which requestToken opened it.
    purpose TEXT NOT NULL,
    medium TEXT NOT NULL,
    -- Lower-cased, as user_threepids.
    address TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    last_send_attempt BIGINT NOT NULL,
    next_link TEXT,
    created_at BIGINT NOT NULL,
    -- When the code or link was accepted (ms); NULL until then.
    validated_at BIGINT,
    -- SHA-256 of the link token and of the numeric code; NULL once used or
    -- burnt by too many wrong codes.
    token_hash TEXT,
    code_hash TEXT,
    token_expires_at BIGINT NOT NULL,
    -- Wrong codes given since the last mail.
    failed_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX threepid_validation_secret
    ON threepid_validation_sessions (client_secret, medium, address);
CREATE INDEX threepid_validation_created
    ON threepid_validation_sessions (created_at);
