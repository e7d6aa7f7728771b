-- Answers to inbound federation transactions (PUT /send/{txnId}), so a
-- retried transaction gets the same answer and is not processed twice.
CREATE TABLE federation_received_transactions (
    origin TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    response_json TEXT NOT NULL,
    received_ts BIGINT NOT NULL,
    PRIMARY KEY (origin, transaction_id)
);
CREATE INDEX federation_received_transactions_ts
    ON federation_received_transactions (received_ts);
