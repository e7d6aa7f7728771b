"""Replication between the processes of a worker deployment, over Redis Streams.

(Skeleton: lifecycle and status; publishing and reading land next.)
"""

from __future__ import annotations

import os
from collections.abc import Callable

from homeserver.streams.registry import StreamRegistry
from homeserver.types import JsonDict
from homeserver.workers.roles import WorkerTopology

PositionListener = Callable[[int], None]
"""Told a stream's new current position."""


class Replication:
    """This process's side of replication: publishes what it writes, applies
    what the other processes write.

    Args:
        topology: the deployment.
        streams: this process's stream positions.
    """

    def __init__(self, *, topology: WorkerTopology, streams: StreamRegistry) -> None:
        self.topology = topology
        self.streams = streams
        self.connected = False
        self._position_listeners: dict[str, list[PositionListener]] = {}

    def add_position_listener(self, stream: str, listener: PositionListener) -> None:
        """Call ``listener(position)`` whenever another process moves
        ``stream`` here (and after a resync from the database): how the
        duties of this process are woken (``composition/worker_duties.py``)."""
        self._position_listeners.setdefault(stream, []).append(listener)

    def positions_advanced(self, stream: str) -> None:
        """``stream``'s position moved from replicated entries: tell the
        listeners its current position (on the reactor thread)."""
        listeners = self._position_listeners.get(stream, ())
        if listeners:
            position = self.streams.sync_positions()[stream]
            for listener in listeners:
                listener(position)

    async def prepare(self) -> None:
        """Before the stream positions are loaded from the database."""

    async def start(self) -> None:
        """After the positions are loaded: follow the other processes."""

    def stop(self) -> None:
        """At shutdown."""

    def status(self) -> JsonDict:
        """This process's name, role, pid, positions, lag and Redis state."""
        positions = self.streams.sync_positions()
        return {
            "name": self.topology.this.name,
            "role": str(self.topology.this.role),
            "pid": os.getpid(),
            "positions": positions,
            "lag": {name: {"entries": 0, "seconds": 0.0} for name in positions},
            "redis": "connected" if self.connected else "down",
        }
