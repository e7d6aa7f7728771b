"""Account data: per-user config, global and per room.

Spec: client-server API, "Client Config" (account data). Types the server
manages (``m.fully_read``, ``m.push_rules``) are refused with 405 M_BAD_JSON
when a client tries to set them, but read as normal. Every write moves the
account_data stream and wakes the user's syncs.

Global account data another domain keeps in its own tables (``m.push_rules``,
the push rules') comes through the ``managed`` port: GET reads it there, and
the /sync source (which sliding sync's extension reuses) adds its changes.

Every write goes through the ``writer`` port: the null one writes here (one
process, or the account_data stream's writer); in a worker deployment the
composition root plugs one that hands the write to the stream's writer
(docs/architecture.md, "Stream writes across processes").
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from homeserver.errors import Codes, Forbidden, InvalidParam, MatrixError, NotFound
from homeserver.services.accounts.auth import Requester
from homeserver.signals import AccountDataChanged, Signal
from homeserver.storage.stores.account_data import (
    GLOBAL,
    AccountDataStore,
    ContentUpdate,
)
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import ACCOUNT_DATA
from homeserver.types import JsonDict
from homeserver.util.ports import Port

ACCOUNT_DATA_STREAM = ACCOUNT_DATA.name
# Set by the server only (spec: "Server Behaviour" of Client Config; and
# Chatly's list of hidden events, docs/extensions/delete-for-me.md).
HIDDEN_EVENTS_TYPE = "chatly.hidden_events"
SERVER_MANAGED_TYPES = frozenset({"m.fully_read", "m.push_rules", HIDDEN_EVENTS_TYPE})
IGNORED_USER_LIST = "m.ignored_user_list"
MAX_TYPE_BYTES = 255
MAX_ROOM_ID_BYTES = 255


def check_own_user(requester: Requester, user_id: str, what: str) -> None:
    """403 unless ``user_id`` is the requester: users only see their own data."""
    if requester.user_id != user_id:
        raise Forbidden(f"Cannot access {what} of other users")


def check_room_id(room_id: str) -> None:
    """400 M_INVALID_PARAM unless ``room_id`` looks like a room ID."""
    if not room_id.startswith("!") or len(room_id.encode()) > MAX_ROOM_ID_BYTES:
        raise InvalidParam(f"{room_id!r} is not a valid room ID")


def _check_type(data_type: str) -> None:
    if len(data_type.encode()) > MAX_TYPE_BYTES:
        raise InvalidParam("Account data type is too long")


def _check_settable(data_type: str) -> None:
    _check_type(data_type)
    if data_type in SERVER_MANAGED_TYPES:
        raise MatrixError(
            405, f"Cannot set {data_type} through this API", Codes.BAD_JSON
        )


def _check_ignore_list(user_id: str, content: JsonDict) -> None:
    """400 M_INVALID_PARAM if a user ignores themselves (as Synapse answers)."""
    ignored = content.get("ignored_users")
    if isinstance(ignored, dict) and user_id in ignored:
        raise InvalidParam("You cannot ignore yourself")


class ManagedAccountData(Protocol):
    """Global account data another domain serves (``m.push_rules``)."""

    async def account_data_changes(
        self, user_id: str, since: int | None, upto: int
    ) -> dict[str, JsonDict]:
        """Type -> content of what changed in (since, upto] (everything when
        ``since`` is None)."""
        ...

    async def account_data_content(
        self, user_id: str, data_type: str
    ) -> JsonDict | None:
        """The content of one type it serves; None for other types."""
        ...


class NoManagedAccountData:
    """The null ``ManagedAccountData``: no such types."""

    async def account_data_changes(
        self, user_id: str, since: int | None, upto: int
    ) -> dict[str, JsonDict]:
        return {}

    async def account_data_content(
        self, user_id: str, data_type: str
    ) -> JsonDict | None:
        return None


class AccountDataWriter(Protocol):
    """Writes on the account_data stream's writer."""

    async def put(
        self, user_id: str, room_id: str, data_type: str, content: JsonDict
    ) -> int:
        """Set one type (``room_id`` GLOBAL for global); its position.

        Raises:
            MatrixError: 503 (retryable) when the writer cannot be reached.
        """
        ...

    async def update(
        self, user_id: str, room_id: str, data_type: str, update: ContentUpdate
    ) -> int | None:
        """Read-modify-write one type atomically; its position, or None if
        ``update`` left it unchanged."""
        ...


class LocalAccountDataWriter:
    """The null ``AccountDataWriter``: this process writes the stream."""

    def __init__(self, service: AccountDataService) -> None:
        self.service = service

    async def put(
        self, user_id: str, room_id: str, data_type: str, content: JsonDict
    ) -> int:
        return await self.service.put_here(user_id, room_id, data_type, content)

    async def update(
        self, user_id: str, room_id: str, data_type: str, update: ContentUpdate
    ) -> int | None:
        return await self.service.update_here(user_id, room_id, data_type, update)


class AccountDataService:
    """Global and room account data, and the account_data stream for /sync.

    Args:
        store: where account data lives.
        notifier: woken for the user on every write.
        changed: emitted after every write.
    """

    def __init__(
        self,
        store: AccountDataStore,
        notifier: Notifier,
        changed: Signal[AccountDataChanged],
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.changed = changed
        # m.push_rules: the push rules' service, plugged in the bind step.
        self.managed: Port[ManagedAccountData] = Port(NoManagedAccountData())
        self.writer: Port[AccountDataWriter] = Port(LocalAccountDataWriter(self))

    # -- client API ---------------------------------------------------------

    async def set_global(
        self, requester: Requester, user_id: str, data_type: str, content: JsonDict
    ) -> JsonDict:
        """PUT /user/{userId}/account_data/{type}."""
        check_own_user(requester, user_id, "account data")
        _check_settable(data_type)
        if data_type == IGNORED_USER_LIST:
            _check_ignore_list(user_id, content)
        await self.writer.get().put(user_id, GLOBAL, data_type, content)
        return {}

    async def get_global(
        self, requester: Requester, user_id: str, data_type: str
    ) -> JsonDict:
        """GET /user/{userId}/account_data/{type}."""
        check_own_user(requester, user_id, "account data")
        _check_type(data_type)
        content = await self.managed.get().account_data_content(user_id, data_type)
        if content is None:
            content = await self.store.get_account_data(user_id, GLOBAL, data_type)
        if content is None:
            raise NotFound("Account data not found")
        return content

    async def set_room(
        self,
        requester: Requester,
        user_id: str,
        room_id: str,
        data_type: str,
        content: JsonDict,
    ) -> JsonDict:
        """PUT /user/{userId}/rooms/{roomId}/account_data/{type}.

        The user need not be in the room, as in Synapse: clients keep tags and
        settings for rooms they have left.
        """
        check_own_user(requester, user_id, "account data")
        check_room_id(room_id)
        _check_settable(data_type)
        await self.writer.get().put(user_id, room_id, data_type, content)
        return {}

    async def get_room(
        self, requester: Requester, user_id: str, room_id: str, data_type: str
    ) -> JsonDict:
        """GET /user/{userId}/rooms/{roomId}/account_data/{type}."""
        check_own_user(requester, user_id, "account data")
        check_room_id(room_id)
        _check_type(data_type)
        content = await self.store.get_account_data(user_id, room_id, data_type)
        if content is None:
            raise NotFound("Room account data not found")
        return content

    # -- for other services (no checks: the caller has made them) -----------

    async def get_global_data(self, user_id: str, data_type: str) -> JsonDict | None:
        """One type of a user's global account data, or None."""
        return await self.store.get_account_data(user_id, GLOBAL, data_type)

    async def get_room_data(
        self, user_id: str, room_id: str, data_type: str
    ) -> JsonDict | None:
        """One type of a user's room account data, or None."""
        return await self.store.get_account_data(user_id, room_id, data_type)

    async def update_room_data(
        self, user_id: str, room_id: str, data_type: str, update: ContentUpdate
    ) -> bool:
        """Read-modify-write room account data atomically (tags, read markers).

        Args:
            update: current content (None if unset) -> new content, or None to
                leave it unchanged.

        Returns:
            Whether anything was written.
        """
        written = await self.writer.get().update(user_id, room_id, data_type, update)
        return written is not None

    # -- on the stream's writer (the ``writer`` port's local side) ----------

    async def put_here(
        self, user_id: str, room_id: str, data_type: str, content: JsonDict
    ) -> int:
        """Set one type here (this process writes the stream)."""
        position = await self.store.upsert_account_data(
            user_id, room_id, data_type, content
        )
        self._written(user_id, room_id, data_type, position)
        return position

    async def update_here(
        self, user_id: str, room_id: str, data_type: str, update: ContentUpdate
    ) -> int | None:
        """Read-modify-write one type here; its position, or None."""
        position = await self.store.update_account_data(
            user_id, room_id, data_type, update
        )
        if position is not None:
            self._written(user_id, room_id, data_type, position)
        return position

    def _written(self, user_id: str, room_id: str, data_type: str, at: int) -> None:
        self.notifier.notify(ACCOUNT_DATA_STREAM, users=[user_id])
        self.changed.emit(
            AccountDataChanged(
                user_id=user_id,
                room_id=None if room_id == GLOBAL else room_id,
                data_type=data_type,
                stream_id=at,
            )
        )

    # -- for /sync ----------------------------------------------------------

    async def get_global_account_data(
        self, user_id: str, since: int | None, upto: int
    ) -> list[JsonDict]:
        """Global account data events set in (since, upto].

        Args:
            since: the client's account_data position; None for an initial
                sync (everything set up to ``upto``).
            upto: the position the response is built at.

        Returns:
            ``{"type", "content"}`` events, oldest write first, then the
            managed types that changed (``m.push_rules``).
        """
        changes = await self.store.get_global_changes(user_id, since, upto)
        changes.update(
            await self.managed.get().account_data_changes(user_id, since, upto)
        )
        return [{"type": t, "content": c} for t, c in changes.items()]

    async def get_room_account_data(
        self,
        user_id: str,
        room_ids: Collection[str] | None,
        since: int | None,
        upto: int,
    ) -> dict[str, list[JsonDict]]:
        """Room account data events set in (since, upto], by room.

        Args:
            room_ids: the rooms to look at; None for every room.
            since: None for an initial sync.

        Returns:
            room ID -> ``{"type", "content"}`` events; rooms without changes are
            left out.
        """
        changes = await self.store.get_room_changes(user_id, room_ids, since, upto)
        return {
            room_id: [{"type": t, "content": c} for t, c in by_type.items()]
            for room_id, by_type in changes.items()
        }
