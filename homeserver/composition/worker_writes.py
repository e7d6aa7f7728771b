"""Stream writes in a worker deployment: each to its one writer.

Every process serves every endpoint (docs/architecture.md, "Workers"); a
write that arrives where its stream is not written is checked there and
handed to the writer over internal HTTP. ``bind_worker_writes`` plugs the
remote writers into the ports the services and the event persister declare
(rooms, typing, receipts, presence, to-device, account data and push rules,
device lists); ``write_endpoints`` are the writer
side, served by every process (a process answers only for what it writes).
Nothing here runs in a one-process deployment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeserver.api.replication.account_data import AccountDataWriteEndpoint
from homeserver.api.replication.device_lists import DeviceListWriteEndpoint
from homeserver.api.replication.persist_event import (
    PersistEventEndpoint,
    PersistOutliersEndpoint,
)
from homeserver.api.replication.presence import PresenceWriteEndpoint
from homeserver.api.replication.push_rules import PushRuleWriteEndpoint
from homeserver.api.replication.receipts import ReceiptWriteEndpoint
from homeserver.api.replication.resource import ReplicationAuth
from homeserver.api.replication.to_device import ToDeviceWriteEndpoint
from homeserver.api.replication.typing import TypingWriteEndpoint
from homeserver.services.rooms.event_writes import EventWriterService
from homeserver.streams.registry import (
    ACCOUNT_DATA,
    DEVICE_LISTS,
    PRESENCE,
    RECEIPTS,
    TO_DEVICE,
    TYPING,
)
from homeserver.workers.caught_up import CaughtUp
from homeserver.workers.internal_client import InternalClient
from homeserver.workers.remote_user_writes import (
    RemoteAccountData,
    RemoteDeviceLists,
    RemotePushRules,
)
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
    if not topology.writes(DEVICE_LISTS.name):
        lists = hs.devices.lists
        lists.writer.plug(
            RemoteDeviceLists(
                client, topology.writer_of(DEVICE_LISTS.name), lists.store, core.clock
            )
        )
    if not topology.writes(ACCOUNT_DATA.name):
        _plug_account_data(hs, topology, client)


def _plug_account_data(
    hs: HomeServer, topology: WorkerTopology, client: InternalClient
) -> None:
    """Account data and push rules (one stream) go to its writer; each write
    returns once this process has applied it (read your writes)."""
    caught_up = CaughtUp(
        feed=hs.workers.replication,
        position_of=lambda s: hs.core.streams.ids_by_name(s).current_position(),
        clock=hs.core.clock,
    )
    writer = topology.writer_of(ACCOUNT_DATA.name)
    account_data = hs.sync_data.account_data
    account_data.writer.plug(
        RemoteAccountData(client, writer, caught_up, account_data.store)
    )
    hs.push_eval.rules.writer.plug(RemotePushRules(client, writer, caught_up))


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
        AccountDataWriteEndpoint(auth, hs.sync_data.account_data),
        PushRuleWriteEndpoint(auth, hs.push_eval.rules),
        DeviceListWriteEndpoint(auth, hs.devices.lists),
    ]
