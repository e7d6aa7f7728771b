-- Outbound application-service transactions (application-service API,
-- "Pushing events"): a durable queue per application service.
--
-- The AS sender walks the events stream; for each event an AS is interested
-- in it queues one row in appservice_outbox, in the same transaction as moving
-- its own position on. Ephemeral data (typing, receipts, presence, to-device,
-- MSC3202 device lists) is queued there too as it happens. A transaction is
-- cut from the head of a queue into appservice_txns (the rows it carries are
-- deleted in the same database transaction) and sent, with the same txnId,
-- until the AS acknowledges it: nothing is lost or sent twice across a
-- failing AS or a restart of this server.

-- The sender's own position in the events stream (stream = 'events').
CREATE TABLE appservice_stream_position (
    stream TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

-- One row per application service we ever queued for.
CREATE TABLE appservice_state (
    as_id TEXT PRIMARY KEY,
    -- The last txnId allocated (they count up from 1 per AS).
    last_txn_id BIGINT NOT NULL DEFAULT 0,
    -- When the AS last acknowledged a transaction.
    last_success_ts BIGINT,
    -- When the current run of failures started (NULL: it is healthy).
    failure_ts BIGINT,
    -- The last failed attempt, and the wait after it before the next one.
    retry_last_ts BIGINT NOT NULL DEFAULT 0,
    retry_interval BIGINT NOT NULL DEFAULT 0
);

-- What waits for an AS, in order: kind 'event' (event_id, stream_ordering),
-- or 'ephemeral' / 'to_device' / 'device_lists' (content: JSON).
CREATE TABLE appservice_outbox (
    as_id TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    event_id TEXT,
    content TEXT,
    PRIMARY KEY (as_id, item_id)
);

-- The transaction in flight for an AS (at most one): its txnId and body are
-- fixed once cut, so a retry sends exactly the same transaction.
CREATE TABLE appservice_txns (
    as_id TEXT PRIMARY KEY,
    txn_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    item_count BIGINT NOT NULL
);
