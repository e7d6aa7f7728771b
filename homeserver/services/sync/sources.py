"""What /sync reads besides room events: one Protocol per stream.

Each stream's owner (sync_data, presence, devices) implements its Protocol;
the composition root hands the implementations to ``SyncService`` when it
builds it, so /sync depends on these shapes only, never on those domains.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

import attrs

from homeserver.types import JsonDict


class AccountDataSource(Protocol):
    """The account_data stream."""

    async def get_global_account_data(
        self, user_id: str, since: int | None, upto: int
    ) -> list[JsonDict]:
        """Global account data events set in (since, upto]."""
        ...

    async def get_room_account_data(
        self,
        user_id: str,
        room_ids: Collection[str] | None,
        since: int | None,
        upto: int,
    ) -> dict[str, list[JsonDict]]:
        """Room account data events set in (since, upto], by room."""
        ...


class ReceiptSource(Protocol):
    """The receipts stream, and read positions for unread counts."""

    async def get_receipts_for_rooms(
        self,
        user_id: str,
        room_ids: Collection[str],
        since: int | None,
        upto: int,
    ) -> dict[str, JsonDict]:
        """The ``m.receipt`` content of each room whose receipts changed."""
        ...

    async def get_receipts_on_events(
        self, user_id: str, room_events: Mapping[str, Collection[str]], upto: int
    ) -> dict[str, JsonDict]:
        """The same, at positions up to ``upto``, only for receipts on the
        given events of each room and the user's own (sliding sync)."""
        ...

    async def get_user_read_positions(
        self, user_id: str, room_ids: Collection[str]
    ) -> dict[str, int]:
        """The stream ordering of the user's read receipt in each room."""
        ...


class TypingSource(Protocol):
    """The typing stream."""

    def get_typing_for_rooms(
        self, room_ids: Collection[str], since: int | None
    ) -> dict[str, JsonDict]:
        """The ``m.typing`` content of each room whose typists changed."""
        ...


class ToDeviceSource(Protocol):
    """The to_device stream (read, then deleted once confirmed)."""

    async def get_to_device(
        self,
        user_id: str,
        device_id: str,
        since: int,
        upto: int,
        limit: int = ...,
    ) -> tuple[list[JsonDict], int]:
        """Messages in (since, upto] and the position reached."""
        ...

    async def delete_to_device_up_to(
        self, user_id: str, device_id: str, position: int
    ) -> None:
        """Forget messages the client confirmed by syncing past them."""
        ...


class PresenceSource(Protocol):
    """The presence stream, and presence kept up by syncing."""

    async def user_syncing(self, user_id: str, set_presence: str | None) -> None:
        """A /sync request starts."""
        ...

    def user_stopped_syncing(
        self, user_id: str, set_presence: str | None = None
    ) -> None:
        """That request ended."""
        ...

    async def get_presence_for_user(
        self, user_id: str, since: int | None, upto: int
    ) -> list[JsonDict]:
        """m.presence events the user may see, changed in (since, upto]."""
        ...


class DeviceListSource(Protocol):
    """The device_lists stream."""

    async def get_changes(
        self,
        user_id: str,
        since: int,
        upto: int,
        events_since: int,
        events_upto: int,
    ) -> tuple[list[str], list[str]]:
        """``changed``: users whose devices changed in (since, upto], or who
        newly share a room with the user by the events in (events_since,
        events_upto]; ``left``: those who no longer share any."""
        ...


class E2eKeysSource(Protocol):
    """The device's own key counts."""

    async def key_counts(
        self, user_id: str, device_id: str
    ) -> tuple[dict[str, int], list[str]]:
        """Unclaimed one-time keys by algorithm, and unused fallback key types."""
        ...

    async def key_counts_many(
        self, devices: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[dict[str, int], list[str]]]:
        """``key_counts`` of each (user, device), all at once."""
        ...

    def cached_key_counts(
        self, user_id: str, device_id: str
    ) -> tuple[dict[str, int], list[str]] | None:
        """``key_counts`` if known without a read, else None."""
        ...


@attrs.frozen(kw_only=True)
class SyncSources:
    """The per-user and ephemeral streams /sync reads."""

    account_data: AccountDataSource
    receipts: ReceiptSource
    typing: TypingSource
    to_device: ToDeviceSource
    presence: PresenceSource
    device_lists: DeviceListSource
    e2e_keys: E2eKeysSource
