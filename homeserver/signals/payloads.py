"""The payload of each signal: frozen attrs classes, one per signal.

They carry what happened, not who should react; receivers must not mutate
them (``Event`` itself is shared with the caches, so treat it as read-only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from homeserver.events.model import Event

if TYPE_CHECKING:
    from homeserver.storage.stores.device_inbox import OutgoingMessage
    from homeserver.storage.stores.device_lists import DeviceListChange
    from homeserver.storage.stores.presence import UserPresence
    from homeserver.storage.stores.receipts import Receipt


@attrs.frozen
class EventPersisted:
    """An event (new, de-outliered or outlier; not backfilled) was committed at
    ``stream_ordering``, which readers cannot see yet."""

    event: Event
    stream_ordering: int


@attrs.frozen
class NewEvent:
    """An event clients may see is stored: not an outlier, rejected,
    soft-failed or backfilled. ``local``: created here for a local user."""

    event: Event
    local: bool


@attrs.frozen
class MembershipChanged:
    """``user_id``'s membership of ``room_id`` is now ``membership``: a new
    member event in a room, or an invite, knock or leave of a room this server
    is not in."""

    room_id: str
    user_id: str
    membership: str
    event: Event


@attrs.frozen
class ProfileChanged:
    """A local user set (or, with ``value`` None, removed) a profile field
    through the profile API."""

    user_id: str
    field: str
    value: object


@attrs.frozen
class AccountDeactivated:
    """A local account was deactivated (its devices and tokens are gone)."""

    user_id: str


@attrs.frozen
class DevicesChanged:
    """A local user's devices were added, renamed (``deleted`` False) or
    deleted."""

    user_id: str
    device_ids: tuple[str, ...]
    deleted: bool


@attrs.frozen
class DeviceListChanged:
    """A local user's device change took its positions on the device_lists
    stream. ``changes`` carry each device's position and the one before (the
    ``stream_id``/``prev_id`` chain of m.device_list_update); ``audience`` is
    everyone sharing a room with the user."""

    user_id: str
    changes: tuple[DeviceListChange, ...]
    deleted: bool
    audience: frozenset[str]


@attrs.frozen
class AccountDataChanged:
    """A user's account data of ``data_type`` was written (``room_id`` None:
    global) at ``stream_id`` of the account_data stream."""

    user_id: str
    room_id: str | None
    data_type: str
    stream_id: int


@attrs.frozen
class PresenceChanged:
    """Presence changes that were persisted (local and remote users)."""

    states: tuple[UserPresence, ...]


@attrs.frozen
class ReceiptStored:
    """A receipt was stored (it moved the user's receipt forwards)."""

    receipt: Receipt
    stream_id: int


@attrs.frozen
class TypingChanged:
    """A user started (or renewed) or stopped typing in a room."""

    room_id: str
    user_id: str
    typing: bool


@attrs.frozen
class CrossSigningChanged:
    """A local user's cross-signing keys changed or gained a signature
    (``signed_users`` empty), or the user signed the master keys of
    ``signed_users`` with their user-signing key."""

    user_id: str
    signed_users: tuple[str, ...]


@attrs.frozen
class ToDeviceDelivered:
    """To-device messages were stored for local devices (sent by a local
    client or received over federation)."""

    messages: tuple[OutgoingMessage, ...]


@attrs.frozen
class RemoteDeviceListChanged:
    """Another server's user's devices (or cross-signing keys) changed, as
    recorded on the device_lists stream; ``audience``: the local users who
    share a room with them."""

    user_id: str
    audience: frozenset[str]


@attrs.frozen
class PushActionsStored:
    """The push actions of a new event are committed: it notifies the local
    ``user_ids`` (their actions are at ``stream_ordering``)."""

    room_id: str
    event_id: str
    stream_ordering: int
    user_ids: tuple[str, ...]


@attrs.frozen
class RoomForgotten:
    """A local user forgot a room they had left (``POST .../forget``)."""

    user_id: str
    room_id: str
