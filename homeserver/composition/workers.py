"""The workers wing of one process: its replication and internal API auth.

Idle in a one-process deployment (no ``workers.instances``): nothing talks
to Redis and no replication endpoint is served.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from homeserver.api.replication.resource import ReplicationAuth, replication_endpoints
from homeserver.composition.core import Core
from homeserver.config.replication_secret import (
    ensure_replication_secret,
    replication_secret_file,
)
from homeserver.workers.replication import Replication
from homeserver.workers.roles import WorkerTopology


@attrs.frozen(kw_only=True)
class WorkersBundle:
    """The topology, replication and the internal API's auth."""

    topology: WorkerTopology
    replication: Replication
    auth: ReplicationAuth | None
    """None in a one-process deployment (no replication API)."""

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

    def endpoints(self) -> list[Any]:
        """The replication API's endpoints (none in a one-process deployment)."""
        if self.auth is None:
            return []
        return replication_endpoints(self.auth, status=self.replication)
