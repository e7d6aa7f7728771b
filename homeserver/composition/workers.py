"""The workers wing of one process: its replication and internal API auth.

Idle in a one-process deployment (no ``workers.instances``): nothing talks
to Redis and no replication endpoint is served.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from homeserver.api.replication.duty_wake import DutyWakeEndpoint, DutyWakeTarget
from homeserver.api.replication.resource import ReplicationAuth, replication_endpoints
from homeserver.composition.core import Core
from homeserver.config.replication_secret import (
    ensure_replication_secret,
    replication_secret_file,
)
from homeserver.workers.duty_relay import InternalPoster
from homeserver.workers.replication import Replication
from homeserver.workers.roles import WorkerTopology


@attrs.frozen(kw_only=True)
class WorkersBundle:
    """The topology, replication and the internal API's auth."""

    topology: WorkerTopology
    replication: Replication
    auth: ReplicationAuth | None
    """None in a one-process deployment (no replication API)."""
    client: InternalPoster | None = None
    """Calls the other processes' replication endpoints (None in a
    one-process deployment)."""

    @classmethod
    def build(cls, *, core: Core, data_dir: Path) -> WorkersBundle:
        topology = core.topology
        auth = None
        if topology.enabled:
            path = replication_secret_file(
                data_dir, core.config.workers.replication_secret_path
            )
            auth = ReplicationAuth(ensure_replication_secret(path))
        return cls(
            topology=topology,
            replication=Replication(topology=topology, streams=core.streams),
            auth=auth,
        )

    def endpoints(self, *, duty_wake: DutyWakeTarget | None = None) -> list[Any]:
        """The replication API's endpoints (none in a one-process deployment);
        ``duty_wake``: this process's duties (``composition/worker_duties.py``)."""
        if self.auth is None:
            return []
        endpoints = replication_endpoints(self.auth, status=self.replication)
        if duty_wake is not None:
            endpoints.append(DutyWakeEndpoint(self.auth, duty_wake))
        return endpoints
