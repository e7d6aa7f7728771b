"""Stream writes in a worker deployment: each to its one writer.

Every process serves every endpoint (docs/architecture.md, "Workers"); a
write that arrives where its stream is not written is checked there and
handed to the writer over internal HTTP. ``bind_worker_writes`` plugs the
remote writers into the ports the services and the event persister declare
(rooms, typing, receipts, presence, to-device); ``write_endpoints`` are the writer
side, served by every process (a process answers only for what it writes).
Nothing here runs in a one-process deployment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeserver.api.replication.persist_event import (
    PersistEventEndpoint,
    PersistOutliersEndpoint,
)
from homeserver.api.replication.presence import PresenceWriteEndpoint
from homeserver.api.replication.receipts import ReceiptWriteEndpoint
from homeserver.api.replication.resource import ReplicationAuth
from homeserver.api.replication.to_device import ToDeviceWriteEndpoint
from homeserver.api.replication.typing import TypingWriteEndpoint
from homeserver.services.rooms.event_writes import EventWriterService
from homeserver.streams.registry import PRESENCE, RECEIPTS, TO_DEVICE, TYPING
from homeserver.workers.internal_client import InternalClient
from homeserver.workers.remote_writes import (
    RemoteEventWrites,
    RemotePresence,
    RemoteReceipts,
    RemoteToDevice,
    RemoteTyping,
)
from homeserver.workers.roles import WorkerTopology

if TYPE_CHECKING:
    from homeserver.composition.server import HomeServer


def bind_worker_writes(
    hs: HomeServer, *, topology: WorkerTopology, client: InternalClient
) -> None:
    """Plug the remote writer of every stream this process does not write.
    Call after ``bind``, before ``setup``."""
    core = hs.core
    core.persister.route.plug(
        RemoteEventWrites(
            client=client,
            this=topology.this.name,
            writer_for_room=topology.event_writer_for,
        )
    )
    if not topology.writes(TYPING.name):
        hs.sync_data.typing.writer.plug(
            RemoteTyping(client, topology.writer_of(TYPING.name))
        )
    if not topology.writes(RECEIPTS.name):
        hs.sync_data.receipts.writer.plug(
            RemoteReceipts(client, topology.writer_of(RECEIPTS.name))
        )
    if not topology.writes(TO_DEVICE.name):
        hs.sync_data.to_device.writer.plug(
            RemoteToDevice(client, topology.writer_of(TO_DEVICE.name))
        )
    if not topology.writes(PRESENCE.name):
        hs.presence.service.writer.plug(
            RemotePresence(client, topology.writer_of(PRESENCE.name))
        )


def write_endpoints(hs: HomeServer, auth: ReplicationAuth) -> list[Any]:
    """The writer side of every stream write (the replication API)."""
    core = hs.core
    events = EventWriterService(
        persister=core.persister, events=core.events, state=core.state
    )
    return [
        PersistEventEndpoint(auth, events),
        PersistOutliersEndpoint(auth, events),
        TypingWriteEndpoint(auth, hs.sync_data.typing),
        ReceiptWriteEndpoint(auth, hs.sync_data.receipts),
        PresenceWriteEndpoint(auth, hs.presence.service),
        ToDeviceWriteEndpoint(auth, hs.sync_data.to_device),
    ]
