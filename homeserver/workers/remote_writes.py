"""The stream-write ports, bound to the stream's writer over internal HTTP.

In worker mode the composition root plugs these into the ports the services
and the event persister declare, on every process that is not the writer of
that stream (for events: of that room). Each sends the checked write to the
writer's ``/_chatly/replication/<endpoint>`` (``InternalClient``, bounded
retries, 503 "try again" when the writer stays down) and returns what the
writer answered. The endpoints are in ``homeserver/api/replication/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from homeserver.events.model import Event
from homeserver.services.sync_data.stream_writers import ToDeviceBatch
from homeserver.storage.stores.event_persistence import PersistedEvent
from homeserver.storage.stores.event_routing import EventWrite
from homeserver.storage.stores.presence import UserPresence
from homeserver.storage.stores.receipts import Receipt
from homeserver.workers.internal_client import InternalClient
from homeserver.workers.wire import encode_context, encode_event


class RemoteEventWrites:
    """``EventWriteRoute``: rooms written elsewhere go to their persister.

    Args:
        client: the internal HTTP client.
        this: this process's instance name.
        writer_for_room: room ID -> the instance persisting its events.
    """

    def __init__(
        self,
        *,
        client: InternalClient,
        this: str,
        writer_for_room: Callable[[str], str],
    ) -> None:
        self.client = client
        self.this = this
        self.writer_for_room = writer_for_room

    def is_local(self, room_id: str) -> bool:
        return self.writer_for_room(room_id) == self.this

    async def persist_remotely(self, write: EventWrite) -> PersistedEvent:
        answer = await self.client.post(
            self.writer_for_room(write.event.room_id),
            "persist_event",
            {
                "event": encode_event(write.event),
                "context": encode_context(write.context),
                "device_id": write.device_id,
                "txn_id": write.txn_id,
                "backfilled": write.backfilled,
            },
        )
        group = answer.get("state_group_after")
        return PersistedEvent(
            int(answer["stream_ordering"]), None if group is None else int(group)
        )

    async def persist_outliers_remotely(self, events: Sequence[Event]) -> None:
        by_writer: dict[str, list[Event]] = {}
        for event in events:
            by_writer.setdefault(self.writer_for_room(event.room_id), []).append(event)
        for writer, batch in by_writer.items():
            answer = await self.client.post(
                writer,
                "persist_outliers",
                {"events": [encode_event(e) for e in batch]},
            )
            orderings: dict[str, Any] = answer.get("stream_orderings", {})
            for event in batch:
                if event.event_id in orderings:
                    event.stream_ordering = int(orderings[event.event_id])


@attrs.frozen
class OneWriter:
    """A stream with one writer instance."""

    client: InternalClient
    writer: str

    async def post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.client.post(self.writer, endpoint, body)


class RemoteTyping(OneWriter):
    """``TypingWriter`` on the typing stream's writer."""

    async def set_typing(
        self, room_id: str, user_id: str, typing: bool, timeout_ms: int
    ) -> None:
        await self.post(
            "typing",
            {
                "room_id": room_id,
                "user_id": user_id,
                "typing": typing,
                "timeout_ms": timeout_ms,
            },
        )


class RemoteReceipts(OneWriter):
    """``ReceiptWriter`` on the receipts stream's writer."""

    async def write_receipt(self, receipt: Receipt, ordering: int) -> None:
        await self.post(
            "receipt", {"receipt": attrs.asdict(receipt), "ordering": ordering}
        )


class RemotePresence(OneWriter):
    """``PresenceWriter`` on the presence stream's writer."""

    async def set_status(
        self, user_id: str, presence: str, status_msg: str | None
    ) -> None:
        await self.post(
            "presence",
            {
                "op": "set_status",
                "user_id": user_id,
                "presence": presence,
                "status_msg": status_msg,
            },
        )

    async def user_syncing(self, user_id: str, set_presence: str | None) -> None:
        await self.post(
            "presence",
            {"op": "syncing", "user_id": user_id, "set_presence": set_presence},
        )

    async def user_stopped_syncing(
        self, user_id: str, set_presence: str | None
    ) -> None:
        await self.post(
            "presence",
            {"op": "stopped_syncing", "user_id": user_id, "set_presence": set_presence},
        )

    async def bump_activity(self, user_id: str) -> None:
        await self.post("presence", {"op": "bump_activity", "user_id": user_id})

    async def apply_remote_presence(self, states: list[UserPresence]) -> None:
        await self.post(
            "presence",
            {"op": "remote", "states": [attrs.asdict(s) for s in states]},
        )


class RemoteToDevice(OneWriter):
    """``ToDeviceWriter`` on the to-device stream's writer."""

    async def store_messages(self, batch: ToDeviceBatch) -> bool:
        answer = await self.post("to_device", attrs.asdict(batch))
        return bool(answer.get("added"))
