-- Worker mode (docs/architecture.md, "Workers"): IDs that several processes
-- allocate come from PostgreSQL sequences, so no two processes ever hand out
-- the same one. One process alone keeps its in-memory generators and never
-- touches these. Each process moves a sequence past its table's stored IDs
-- at start-up (rows written by a single process before), so the START here
-- only matters for an empty database.
CREATE SEQUENCE IF NOT EXISTS events_stream_seq;
-- Backfilled events count down from 0: stream ordering = -nextval.
CREATE SEQUENCE IF NOT EXISTS events_backfill_seq;
CREATE SEQUENCE IF NOT EXISTS state_group_id_seq;
CREATE SEQUENCE IF NOT EXISTS federation_outbox_edu_seq;
CREATE SEQUENCE IF NOT EXISTS appservice_outbox_seq;
