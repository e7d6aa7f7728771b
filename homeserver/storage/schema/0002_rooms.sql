-- The room event DAG: events, edges, extremities, state snapshots, current state.

CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY,
    room_version TEXT NOT NULL,
    creator TEXT,
    is_public BOOLEAN NOT NULL DEFAULT FALSE,
    created_ts BIGINT NOT NULL
);

CREATE TABLE events (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT,
    sender TEXT NOT NULL,
    depth BIGINT NOT NULL,
    -- Local order of arrival (sync); topological = depth (/messages).
    stream_ordering BIGINT NOT NULL UNIQUE,
    origin_server_ts BIGINT NOT NULL,
    json TEXT NOT NULL,
    outlier BOOLEAN NOT NULL DEFAULT FALSE,
    rejected_reason TEXT,
    soft_failed BOOLEAN NOT NULL DEFAULT FALSE,
    -- Set when a valid redaction of this event has been accepted.
    redacted_by TEXT,
    -- For state events: the event this one replaced in the state (prev_content).
    replaces_state TEXT,
    -- The sender's device and transaction ID, for idempotent sends and unsigned.
    sender_device_id TEXT,
    txn_id TEXT
);
CREATE INDEX events_room_stream ON events (room_id, stream_ordering);
CREATE INDEX events_room_topo ON events (room_id, depth, stream_ordering);
CREATE INDEX events_room_ts ON events (room_id, origin_server_ts);
CREATE INDEX events_txn ON events (sender, sender_device_id, txn_id);

CREATE TABLE event_edges (
    event_id TEXT NOT NULL,
    prev_event_id TEXT NOT NULL,
    PRIMARY KEY (event_id, prev_event_id)
);
CREATE INDEX event_edges_prev ON event_edges (prev_event_id);

CREATE TABLE event_auth (
    event_id TEXT NOT NULL,
    auth_id TEXT NOT NULL,
    PRIMARY KEY (event_id, auth_id)
);

-- The auth-chain index: for each state event, every event in its auth chain
-- (transitively). Auth chains are short (create, power levels and their
-- senders' memberships), and only state events are indexed, so this stays
-- small while making state resolution's auth difference one query.
CREATE TABLE event_auth_chains (
    event_id TEXT NOT NULL,
    chain_id TEXT NOT NULL,
    PRIMARY KEY (event_id, chain_id)
);

CREATE TABLE event_forward_extremities (
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (room_id, event_id)
);

CREATE TABLE event_backward_extremities (
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (room_id, event_id)
);

-- Redactions waiting for (or applied to) their target.
CREATE TABLE redactions (
    event_id TEXT PRIMARY KEY,
    redacts TEXT NOT NULL
);
CREATE INDEX redactions_redacts ON redactions (redacts);

-- State snapshots: a group is either a full snapshot (prev_group NULL) or a
-- delta on prev_group; delta chains are kept short (delta_depth is bounded).
CREATE TABLE state_groups (
    id BIGINT PRIMARY KEY,
    room_id TEXT NOT NULL,
    prev_group BIGINT,
    delta_depth INTEGER NOT NULL
);

CREATE TABLE state_group_entries (
    state_group BIGINT NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    -- NULL means "removed" in a delta.
    event_id TEXT,
    PRIMARY KEY (state_group, type, state_key)
);

-- The state after each event (for non-state events, shared with their parent).
CREATE TABLE event_to_state_group (
    event_id TEXT PRIMARY KEY,
    state_group BIGINT NOT NULL
);

CREATE TABLE current_state_events (
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    -- For m.room.member: the membership, for the membership index.
    membership TEXT,
    PRIMARY KEY (room_id, type, state_key)
);
CREATE INDEX current_state_members ON current_state_events (state_key, membership);

-- Every membership event, for history-visibility checks and forgotten rooms.
CREATE TABLE room_memberships (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    membership TEXT NOT NULL,
    stream_ordering BIGINT NOT NULL,
    depth BIGINT NOT NULL,
    forgotten BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX room_memberships_user ON room_memberships (user_id, room_id, stream_ordering);

CREATE TABLE room_aliases (
    room_alias TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX room_aliases_room ON room_aliases (room_id);
