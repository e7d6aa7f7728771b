"""The device_lists stream: whose devices changed, for /sync and for E2EE.

Spec: client-server API, ``device_lists`` in /sync ("Tracking the device list
for a user"). A local device added, renamed or deleted takes a position on the
device_lists stream; local users sharing a room with its owner (and the owner)
then see the owner in ``device_lists.changed``. The change is announced on
``device_list_changed`` with its positions, so federation can send
m.device_list_update (whose ``stream_id``/``prev_id`` chain is these
positions) without this module knowing. Remote users' updates, handed in by
federation, take a position too, for local users' /sync.

Each change is recorded through the ``writer`` port: here (one process, or
the device_lists stream's writer), or on that writer over internal HTTP in a
worker deployment (docs/architecture.md, "Stream writes across processes").
A change the writer could not be reached for is stored in the database and
recorded by the writer later (``record_undelivered``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Protocol

from homeserver.signals import (
    CrossSigningChanged,
    DeviceListChanged,
    DevicesChanged,
    RemoteDeviceListChanged,
    Signal,
)
from homeserver.storage.stores.device_lists import USER_ROW, DeviceListStore
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import DEVICE_LISTS
from homeserver.types import JsonDict
from homeserver.util.linearizer import Linearizer
from homeserver.util.ports import Port

logger = logging.getLogger(__name__)

STREAM = DEVICE_LISTS.name
# The linearizer key of ``record_undelivered`` (no user ID is empty).
UNDELIVERED = ""


class CoMembers(Protocol):
    """Who shares a room with whom."""

    async def get_users_sharing_a_room(self, user_ids: Collection[str]) -> set[str]:
        """Everyone joined to a room that one of ``user_ids`` is joined to."""
        ...


class DeviceListWriter(Protocol):
    """Records changes on the device_lists stream's writer, which wakes their
    audience and announces them. A change the writer cannot be reached for
    is stored for it (``DeviceListStore.keep_undelivered``), not lost."""

    async def devices_changed(self, change: DevicesChanged) -> None:
        """A local user's devices changed."""

    async def cross_signing_changed(self, change: CrossSigningChanged) -> None:
        """A local user's cross-signing keys (or signatures) changed."""

    async def remote_changed(
        self, user_id: str, device_ids: Collection[str], audience: Collection[str]
    ) -> None:
        """Another server's user's devices changed; ``audience`` local users."""


class LocalDeviceListWriter:
    """The null ``DeviceListWriter``: this process writes the stream."""

    def __init__(self, tracker: DeviceListTracker) -> None:
        self.devices_changed = tracker.devices_changed_here
        self.cross_signing_changed = tracker.cross_signing_changed_here
        self.remote_changed = tracker.remote_changed_here


class DeviceListTracker:
    """Records device list changes and serves them to /sync.

    Args:
        store: the device_lists stream.
        co_members: who shares a room with whom.
        notifier: woken on the device_lists stream.
        changed: emitted once a local change has its positions.
        remote_changed: emitted once another server's user's change is
            recorded.
    """

    def __init__(
        self,
        *,
        store: DeviceListStore,
        co_members: CoMembers,
        notifier: Notifier,
        changed: Signal[DeviceListChanged],
        remote_changed: Signal[RemoteDeviceListChanged] | None = None,
    ) -> None:
        self.store = store
        self.co_members = co_members
        self.notifier = notifier
        self.changed = changed
        self.remote_changed_signal = remote_changed
        self._linearizer = Linearizer()
        self.writer: Port[DeviceListWriter] = Port(LocalDeviceListWriter(self))

    async def on_devices_changed(self, change: DevicesChanged) -> None:
        """``devices_changed`` receiver: a local user's devices changed."""
        await self.writer.get().devices_changed(change)

    async def on_cross_signing_changed(self, change: CrossSigningChanged) -> None:
        """``cross_signing_changed`` receiver (see ``cross_signing_changed_here``)."""
        await self.writer.get().cross_signing_changed(change)

    async def remote_changed(
        self, user_id: str, device_ids: Collection[str], audience: Collection[str]
    ) -> None:
        """Another server's user's devices changed: record it, and wake the
        local users in ``audience``."""
        await self.writer.get().remote_changed(user_id, device_ids, audience)

    # -- DeviceListWriter: the writes themselves, on this process -----------

    async def devices_changed_here(self, change: DevicesChanged) -> None:
        user_id = change.user_id
        async with self._linearizer.queue(user_id):
            changes = await self.store.add_changes(user_id, change.device_ids)
            audience = await self.co_members.get_users_sharing_a_room([user_id])
            self.notifier.notify(STREAM, users=audience | {user_id})
            self.changed.emit(
                DeviceListChanged(
                    user_id=user_id,
                    changes=tuple(changes),
                    deleted=change.deleted,
                    audience=frozenset(audience),
                )
            )

    async def cross_signing_changed_here(self, change: CrossSigningChanged) -> None:
        """The user's own keys changed
        (everyone sharing a room re-queries them), or the user signed others'
        keys (only the user's own devices re-query those users)."""
        user_id = change.user_id
        if change.signed_users:
            for target in change.signed_users:
                await self.store.add_changes(target, [USER_ROW])
            self.notifier.notify(STREAM, users={user_id})
            return
        async with self._linearizer.queue(user_id):
            await self.store.add_changes(user_id, [USER_ROW])
            audience = await self.co_members.get_users_sharing_a_room([user_id])
            self.notifier.notify(STREAM, users=audience | {user_id})

    async def remote_changed_here(
        self, user_id: str, device_ids: Collection[str], audience: Collection[str]
    ) -> None:
        await self.store.add_changes(user_id, device_ids)
        self.notifier.notify(STREAM, users=audience)
        if self.remote_changed_signal is not None:
            self.remote_changed_signal.emit(
                RemoteDeviceListChanged(user_id=user_id, audience=frozenset(audience))
            )

    async def record(self, change: JsonDict) -> None:
        """Record a change as the writer's endpoint takes it (``op``
        ``devices``, ``cross_signing`` or ``remote``, with ``user_id``,
        ``device_ids``, ``deleted``, ``signed_users``, ``audience``)."""
        user_id = change["user_id"]
        device_ids = tuple(change.get("device_ids", ()))
        if change["op"] == "devices":
            await self.devices_changed_here(
                DevicesChanged(user_id, device_ids, bool(change.get("deleted")))
            )
        elif change["op"] == "cross_signing":
            await self.cross_signing_changed_here(
                CrossSigningChanged(user_id, tuple(change.get("signed_users", ())))
            )
        else:
            await self.remote_changed_here(
                user_id, device_ids, change.get("audience", ())
            )

    async def record_undelivered(self) -> int:
        """Record the changes other processes stored when they could not
        reach this writer (``DeviceListStore.keep_undelivered``), oldest
        first, each once; how many. Run at start and when woken. A change
        that fails is logged and kept for the next time."""
        recorded = 0
        async with self._linearizer.queue(UNDELIVERED):
            for change_id, change in await self.store.get_undelivered():
                try:
                    await self.record(change)
                except Exception:
                    logger.exception("cannot record a stored device list change")
                    continue
                await self.store.delete_undelivered(change_id)
                recorded += 1
        return recorded

    async def latest_position(self, user_id: str) -> int:
        """The user's newest position (0 if their devices never changed)."""
        return await self.store.get_latest_stream_id(user_id)

    async def get_changes(
        self,
        user_id: str,
        since: int,
        upto: int,
        events_since: int,
        events_upto: int,
    ) -> tuple[list[str], list[str]]:
        """/sync and /keys/changes (``changed``, ``left``): whose devices changed in (since, upto] on
        the device_lists stream, plus those who newly share a room with the
        user (``changed``) or no longer share any (``left``), by the
        membership events in (events_since, events_upto]."""
        changed = set(await self.get_changed(user_id, since, upto))
        if events_since >= events_upto:
            return sorted(changed), []
        moves = await self.store.get_membership_changes(
            user_id, events_since, events_upto
        )
        if not moves:
            return sorted(changed), []
        mine = {m.room_id: m.membership for m in moves if m.user_id == user_id}
        joined = {m.user_id for m in moves if m.membership == "join"}
        gone = {m.user_id for m in moves if m.membership in ("leave", "ban")}
        joined |= await self.store.get_joined_members(
            [r for r, ms in mine.items() if ms == "join"]
        )
        gone |= await self.store.get_joined_members(
            [r for r, ms in mine.items() if ms in ("leave", "ban")]
        )
        sharing = await self.co_members.get_users_sharing_a_room([user_id])
        changed |= (joined & sharing) - {user_id}
        left = gone - sharing - {user_id}
        return sorted(changed - left), sorted(left)

    async def get_changed(self, user_id: str, since: int, upto: int) -> list[str]:
        """/sync source: users sharing a room with ``user_id`` (or the user)
        whose devices changed in (since, upto]."""
        if since >= upto:
            return []
        changed = await self.store.get_changed_users(since, upto)
        if not changed:
            return []
        visible = await self.co_members.get_users_sharing_a_room([user_id])
        return sorted(changed & (visible | {user_id}))
