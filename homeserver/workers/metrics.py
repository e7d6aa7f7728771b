"""Replication metrics, on every process's /metrics (docs/scaling.md)."""

from __future__ import annotations

from prometheus_client import Gauge

LAG_SECONDS = Gauge(
    "homeserver_replication_lag_seconds",
    "Seconds between a writer adding the last entry of a stream to Redis "
    "and this process applying it",
    ["stream"],
)
POSITION = Gauge(
    "homeserver_replication_position",
    "The last position each writer published on each stream, as applied here",
    ["stream", "writer"],
)
