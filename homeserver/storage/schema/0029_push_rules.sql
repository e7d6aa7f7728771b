-- Push rules (client-server API, "Push Notifications": "Push Rules"): each
-- user's own rules and what they changed on the server-default rules
-- (docs/push.md, "Push rules"). The default rules themselves are not stored:
-- they are code (services/push/rules/defaults.py).
--
-- A user's own rule. Within (user_id, kind) rules are evaluated in ascending
-- priority; PUT with ``before``/``after`` shifts the others to make room.
CREATE TABLE push_rules (
    user_id TEXT NOT NULL,
    -- override, content, room, sender or underride.
    kind TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    priority BIGINT NOT NULL,
    -- The conditions as a JSON list (override and underride rules), else NULL.
    conditions TEXT,
    -- The glob of a content rule, else NULL.
    pattern TEXT,
    -- The actions as a JSON list, as the client sent them.
    actions TEXT NOT NULL,
    -- 1 enabled, 0 disabled.
    enabled SMALLINT NOT NULL,
    PRIMARY KEY (user_id, kind, rule_id)
);
-- A user's changes to a server-default rule: NULL where left as the default.
CREATE TABLE push_rule_defaults (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    enabled SMALLINT,
    actions TEXT,
    PRIMARY KEY (user_id, kind, rule_id)
);
-- The account_data stream position of each user's last push rule change:
-- /sync sends ``m.push_rules`` account data when it is after the client's
-- token (the rules are served as account data, so they share its stream).
CREATE TABLE push_rules_stream (
    user_id TEXT PRIMARY KEY,
    stream_id BIGINT NOT NULL
);
