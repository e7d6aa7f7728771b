"""Receiving from other servers: inbound transactions and the remote event pipeline (verify, fetch missing events and state, auth, persist), and backfill."""
