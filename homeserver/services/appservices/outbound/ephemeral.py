"""Ephemeral data for application services (MSC2409, stable in v1.13, and
MSC3202), queued in their durable queues as it happens.

For an AS with ``receive_ephemeral``:
- ``m.typing`` and ``m.receipt`` of rooms it is interested in (by ID, alias or
  a joined member, as for events), with ``room_id``; private receipts
  (``m.read.private``) are never sent, as Synapse;
- ``m.presence`` of users in its users namespace and of users sharing a room
  with one of them;
- to-device messages to its users' devices, with ``to_user_id`` and
  ``to_device_id``.

For an AS with MSC3202 on: the device-list changes of users (local or of
other servers) it is interested in or who share a room with its users
(``changed``), and users who left the last room they shared with its users
(``left``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from homeserver.events.model import Membership
from homeserver.services.appservices.outbound.sender import (
    AppServiceSender,
    RoomFacts,
    interested_in_room,
)
from homeserver.services.appservices.outbound.target import AppServiceTarget
from homeserver.signals import (
    DeviceListChanged,
    MembershipChanged,
    PresenceChanged,
    ReceiptStored,
    RemoteDeviceListChanged,
    ToDeviceDelivered,
    TypingChanged,
)
from homeserver.storage.stores.appservice_outbox import ItemKind
from homeserver.storage.stores.presence import UserPresence
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

PRIVATE_RECEIPT = "m.read.private"
TypingOf = Callable[[str], list[str]]
"""Room ID -> who is typing there now."""
PresenceEvent = Callable[[UserPresence, int], JsonDict]


class EphemeralForwarder:
    """Signal receivers that queue ephemeral data for the ASs.

    Args:
        sender: the AS sender (registrations, queues, room facts).
        room_state: the rooms a user is joined to.
        typing_of: who is typing in a room.
        presence_event: a presence state as an ``m.presence`` event.
        clock: for presence's ``last_active_ago``.
    """

    def __init__(
        self,
        *,
        sender: AppServiceSender,
        room_state: RoomStateStore,
        typing_of: TypingOf,
        presence_event: PresenceEvent,
        clock: Clock,
    ) -> None:
        self.sender = sender
        self.room_state = room_state
        self.typing_of = typing_of
        self.presence_event = presence_event
        self.clock = clock

    def _ephemeral(self) -> list[AppServiceTarget]:
        return [s for s in self.sender.services() if s.url and s.receive_ephemeral]

    async def _for_room(self, room_id: str, content: JsonDict) -> None:
        services = self._ephemeral()
        if not services:
            return
        facts = self._facts()
        rows = [
            (s.id, ItemKind.EPHEMERAL, content)
            for s in services
            if await interested_in_room(s, room_id, facts)
        ]
        await self.sender.queue_data(rows)

    def _facts(self) -> RoomFacts:
        return RoomFacts(self.sender.directory, self.sender.stream)

    async def on_typing(self, changed: TypingChanged) -> None:
        """``typing_changed`` receiver."""
        room_id = changed.room_id
        await self._for_room(
            room_id,
            {
                "type": "m.typing",
                "room_id": room_id,
                "content": {"user_ids": sorted(self.typing_of(room_id))},
            },
        )

    async def on_receipt(self, stored: ReceiptStored) -> None:
        """``receipt_stored`` receiver."""
        receipt = stored.receipt
        if receipt.receipt_type == PRIVATE_RECEIPT:
            return
        data: JsonDict = {"ts": receipt.ts}
        if receipt.thread_id is not None:
            data["thread_id"] = receipt.thread_id
        await self._for_room(
            receipt.room_id,
            {
                "type": "m.receipt",
                "room_id": receipt.room_id,
                "content": {
                    receipt.event_id: {receipt.receipt_type: {receipt.user_id: data}}
                },
            },
        )

    async def on_presence(self, changed: PresenceChanged) -> None:
        """``presence_changed`` receiver."""
        services = self._ephemeral()
        if not services:
            return
        now = self.clock.time_msec()
        rows = []
        for state in changed.states:
            event = self.presence_event(state, now)
            for service in await self._interested(services, state.user_id):
                rows.append((service.id, ItemKind.EPHEMERAL, event))
        await self.sender.queue_data(rows)

    async def on_to_device(self, delivered: ToDeviceDelivered) -> None:
        """``to_device_delivered`` receiver."""
        services = self._ephemeral()
        rows = []
        for message in delivered.messages:
            for service in services:
                if service.is_interested_in_user(message.user_id):
                    content = dict(
                        message.message,
                        to_user_id=message.user_id,
                        to_device_id=message.device_id,
                    )
                    rows.append((service.id, ItemKind.TO_DEVICE, content))
        await self.sender.queue_data(rows)

    def _msc3202(self) -> list[AppServiceTarget]:
        return [s for s in self.sender.services() if s.url and s.msc3202]

    async def on_device_list(
        self, changed: DeviceListChanged | RemoteDeviceListChanged
    ) -> None:
        """``device_list_changed`` and ``remote_device_list_changed``
        receiver (MSC3202 ``changed``)."""
        services = self._msc3202()
        user_id = changed.user_id
        rows = [
            (s.id, ItemKind.DEVICE_LISTS, {"changed": [user_id]})
            for s in services
            if s.is_interested_in_user(user_id)
            or any(s.is_interested_in_user(u) for u in changed.audience)
        ]
        await self.sender.queue_data(rows)

    async def on_membership(self, changed: MembershipChanged) -> None:
        """``membership_changed`` receiver (MSC3202 ``left``): a user who
        left a room its users are in and now shares none with them."""
        if changed.membership not in (Membership.LEAVE, Membership.BAN):
            return
        services = self._msc3202()
        if not services:
            return
        user_id = changed.user_id
        facts = self._facts()
        members = await facts.members(changed.room_id)
        candidates = [
            s
            for s in services
            if not s.is_interested_in_user(user_id)
            and any(s.is_interested_in_user(m) for m in members)
        ]
        if not candidates:
            return
        still = await self._interested(candidates, user_id)
        rows = [
            (s.id, ItemKind.DEVICE_LISTS, {"left": [user_id]})
            for s in candidates
            if s not in still
        ]
        await self.sender.queue_data(rows)

    async def _interested(
        self, services: Collection[AppServiceTarget], user_id: str
    ) -> list[AppServiceTarget]:
        """The ASs whose namespace holds ``user_id`` or who share a room with
        it through one of their users."""
        found = [s for s in services if s.is_interested_in_user(user_id)]
        rest = [s for s in services if s not in found]
        if not rest:
            return found
        facts = self._facts()
        for room_id in await self.room_state.get_rooms_for_user(user_id):
            members = await facts.members(room_id)
            for service in list(rest):
                if any(service.is_interested_in_user(m) for m in members):
                    found.append(service)
                    rest.remove(service)
            if not rest:
                break
        return found
