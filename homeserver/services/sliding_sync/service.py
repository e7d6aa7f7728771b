"""Simplified sliding sync (MSC4186): one request of a connection.

Resumes the connection (``connections.py``), lists the user's rooms
(``room_list.py``), picks the rooms of each list's range and the subscribed
rooms, combines their configs, asks the room builder for those that are new
to the connection, changed since it last had them or whose config expanded,
runs the extensions, and long-polls on the notifier while there is nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from homeserver.events.model import Membership
from homeserver.services.accounts.auth import Requester
from homeserver.services.presence.presence import PresenceService
from homeserver.services.sliding_sync.connections import (
    Changes,
    Connection,
    Connections,
    RoomSent,
)
from homeserver.services.sliding_sync.extensions.context import (
    ExtensionContext,
    SlidingExtension,
)
from homeserver.services.sliding_sync.model import RoomBuilder, RoomConfig, RoomRequest
from homeserver.services.sliding_sync.request import SlidingSyncRequest
from homeserver.services.sliding_sync.room_list import RoomList
from homeserver.services.sync_data.receipts import RECEIPT_TYPES
from homeserver.signals import ReceiptStored
from homeserver.storage.stores.sliding_sync import UserRoom
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import ACCOUNT_DATA, RECEIPTS
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.stream_change_cache import StreamChangeCache

JOIN = Membership.JOIN
# Memberships that put a room on the lists whether or not it was sent before.
_LISTED = (Membership.JOIN, Membership.INVITE, Membership.KNOCK)


def _leave_unsent(sent: RoomSent | None, room: UserRoom) -> bool:
    """Whether a room the user left was sent on the connection but not yet
    with the leave (MSC4186: left rooms only if previously sent; once the
    client has the leave the room drops out of the lists, as in Synapse,
    which lists a room the user left only in the response after the leave)."""
    return sent is not None and sent.membership_stream != room.stream_ordering


# How many (user, room) read receipts the change cache holds before it
# starts afresh (then every room asks the builder once more).
_READS_CAP = 100_000


@attrs.frozen
class SlidingResponse:
    """A response body, and whether it has news: False for a long-poll that
    timed out with nothing new (it still carries every enabled extension's
    section, e.g. key counts)."""

    body: JsonDict
    news: bool


@attrs.frozen
class Selection:
    """The rooms one response looks at."""

    counts: dict[str, int]
    list_rooms: dict[str, list[str]]
    configs: dict[str, RoomConfig]
    lists_of: dict[str, tuple[str, ...]]
    subscribed: list[str]
    dms: set[str] | None


class SlidingSyncService:
    """Computes sliding-sync responses and waits for news."""

    def __init__(
        self,
        *,
        room_list: RoomList,
        builder: RoomBuilder,
        notifier: Notifier,
        presence: PresenceService,
        clock: Clock,
        extensions: Sequence[SlidingExtension] = (),
    ) -> None:
        self.room_list = room_list
        self.builder = builder
        self.notifier = notifier
        self.presence = presence
        self.clock = clock
        self.extensions = {e.key: e for e in extensions}
        self.connections = Connections()
        # (user, room) whose own read receipt moved: their unread counts may
        # have changed without a new event in the room.
        self.reads = StreamChangeCache("ss_reads", 0)

    def on_receipt_stored(self, stored: ReceiptStored) -> None:
        """``receipt_stored`` receiver: note the user's own read receipts."""
        receipt = stored.receipt
        if receipt.receipt_type not in RECEIPT_TYPES:
            return
        if len(self.reads._last_change) > _READS_CAP:
            self.reads = StreamChangeCache("ss_reads", stored.stream_id)
        self.reads.entity_has_changed(
            _read_key(receipt.user_id, receipt.room_id), stored.stream_id
        )

    async def sync(self, requester: Requester, req: SlidingSyncRequest) -> JsonDict:
        """One request: a response, at once or when there is news."""
        return (await self.respond(requester, req)).body

    async def respond(
        self, requester: Requester, req: SlidingSyncRequest
    ) -> SlidingResponse:
        """``sync``, telling too whether the response has news (the WebSocket
        stream sends only those)."""
        user_id = requester.user_id
        for key, config in req.extensions.items():
            extension = self.extensions.get(key)
            if extension is not None:
                extension.check(config)
        conn = self.connections.resume(
            user_id,
            requester.device_id,
            req.conn_id,
            req.pos,
            self.clock.time_msec(),
        )
        await self.presence.user_syncing(user_id, req.set_presence)
        try:
            return await self._loop(requester, req, conn)
        finally:
            self.presence.user_stopped_syncing(user_id, req.set_presence)

    async def _loop(
        self, requester: Requester, req: SlidingSyncRequest, conn: Connection
    ) -> SlidingResponse:
        since = conn.token
        timeout = req.timeout_ms if since is not None else 0
        deadline = self.clock.time_msec() + timeout
        while True:
            upto = self.notifier.current_token()
            if since is not None:
                since = since.clamped_to(upto)
            body, changes, rooms, empty = await self._compute(
                requester, req, conn, since, upto
            )
            remaining = deadline - self.clock.time_msec()
            if not empty or remaining <= 0:
                body["pos"] = self.connections.issue(conn, upto, changes)
                return SlidingResponse(body, news=not empty)
            if self.notifier.current_token().is_after(upto):
                continue
            watched = [r for r, room in rooms.items() if room.membership == JOIN]
            await self.notifier.wait(requester.user_id, watched, remaining)

    async def _compute(
        self,
        requester: Requester,
        req: SlidingSyncRequest,
        conn: Connection,
        since: StreamToken | None,
        upto: StreamToken,
    ) -> tuple[JsonDict, Changes, Mapping[str, UserRoom], bool]:
        user_id = requester.user_id
        rooms = await self.room_list.user_rooms(user_id, upto.events)
        sel = await self._select(user_id, req, conn, rooms, upto)
        changes = Changes()
        out_rooms: JsonDict = {}
        requests = [
            request
            for room_id, config in sel.configs.items()
            if (
                request := self._request(conn, rooms[room_id], config, sel, since, upto)
            )
            is not None
        ]
        # The builder reads what it can for all of them at once.
        await self.builder.prepare(requester, requests)
        for request in requests:
            await self._room(
                requester,
                conn,
                rooms[request.room_id],
                sel,
                request,
                changes,
                out_rooms,
            )
        extensions, news = await self._extensions(
            requester, req, conn, sel, rooms, since, upto, out_rooms, changes
        )
        changes.forget = _forgettable(conn, rooms, sel, user_id)
        body: JsonDict = {
            "lists": {name: {"count": n} for name, n in sel.counts.items()},
            "rooms": out_rooms,
            "extensions": extensions,
        }
        empty = since is not None and not out_rooms and not news
        return body, changes, rooms, empty

    async def _select(
        self,
        user_id: str,
        req: SlidingSyncRequest,
        conn: Connection,
        rooms: dict[str, UserRoom],
        upto: StreamToken,
    ) -> Selection:
        listed = {
            r: room
            for r, room in rooms.items()
            if room.membership in _LISTED
            or _leave_unsent(conn.rooms.get(r), room)
            or (
                room.membership in (Membership.LEAVE, Membership.BAN)
                and room.sender != user_id
            )
        }
        ordered = await self.room_list.order(user_id, listed, rooms, upto.events)
        counts: dict[str, int] = {}
        list_rooms: dict[str, list[str]] = {}
        configs: dict[str, RoomConfig] = {}
        lists_of: dict[str, tuple[str, ...]] = {}
        for name, lst in req.lists.items():
            matching = await self.room_list.apply(
                user_id,
                lst.filters,
                ordered,
                listed,
                (upto.events, upto.get(ACCOUNT_DATA.name)),
            )
            counts[name] = len(matching)
            window = matching
            if lst.range is not None:
                window = matching[lst.range[0] : lst.range[1] + 1]
            list_rooms[name] = window
            for room_id in window:
                old = configs.get(room_id)
                configs[room_id] = (
                    lst.config if old is None else old.combine(lst.config)
                )
                lists_of[room_id] = (*lists_of.get(room_id, ()), name)
        subscribed = []
        for room_id, config in req.subscriptions.items():
            if room_id not in rooms:
                continue  # not the user's: ignored, as Synapse does
            subscribed.append(room_id)
            old = configs.get(room_id)
            configs[room_id] = config if old is None else old.combine(config)
        dms = None
        if configs:
            dms = await self.room_list.dm_rooms(user_id)
        return Selection(counts, list_rooms, configs, lists_of, subscribed, dms)

    def _request(
        self,
        conn: Connection,
        room: UserRoom,
        config: RoomConfig,
        sel: Selection,
        since: StreamToken | None,
        upto: StreamToken,
    ) -> RoomRequest | None:
        """What to ask the builder for a room; None when it has no news."""
        room_id = room.room_id
        user_id = conn.key[0]
        sent = conn.rooms.get(room_id)
        is_dm = sel.dms is not None and room_id in sel.dms
        if sent is not None and not (
            self.room_list.changes.rooms.has_entity_changed(room_id, sent.since.events)
            or self.reads.has_entity_changed(
                _read_key(user_id, room_id), sent.since.get(RECEIPTS.name)
            )
            or sent.membership_stream != room.stream_ordering
            or sent.is_dm != is_dm
            or config.expands(sent.config)
        ):
            return None
        return RoomRequest(
            room_id=room_id,
            config=config,
            lists=sel.lists_of.get(room_id, ()),
            membership=room.membership,
            membership_stream=room.stream_ordering,
            since=None if sent is None else sent.since,
            upto=upto,
            memory=None if sent is None else sent.memory,
            connection_since=since,
        )

    async def _room(
        self,
        requester: Requester,
        conn: Connection,
        room: UserRoom,
        sel: Selection,
        request: RoomRequest,
        changes: Changes,
        out: JsonDict,
    ) -> None:
        room_id = room.room_id
        config, upto = request.config, request.upto
        sent = conn.rooms.get(room_id)
        is_dm = sel.dms is not None and room_id in sel.dms
        answer = await self.builder.build(requester, request)
        kept = answer.keep
        if kept is None:
            kept = config if sent is None else sent.config.combine(config)
        changes.rooms[room_id] = RoomSent(
            upto, kept, answer.memory, room.membership, room.stream_ordering, is_dm
        )
        dm_changed = sent is not None and sent.is_dm != is_dm
        if answer.result is not None or dm_changed:
            result = dict(answer.result or {})
            # Absent means not a DM (as Synapse); a change is always told.
            if is_dm or dm_changed:
                result.setdefault("is_dm", is_dm)
            result.setdefault("bump_stamp", self.room_list.bump_stamp(room))
            if room.membership != Membership.JOIN:
                result.setdefault("membership", room.membership)
            # Merged MSC4186: the lists the room is in (none: subscribed only).
            if request.lists:
                result["lists"] = list(request.lists)
            out[room_id] = result

    async def _extensions(
        self,
        requester: Requester,
        req: SlidingSyncRequest,
        conn: Connection,
        sel: Selection,
        rooms: Mapping[str, UserRoom],
        since: StreamToken | None,
        upto: StreamToken,
        out_rooms: Mapping[str, JsonDict],
        changes: Changes,
    ) -> tuple[JsonDict, bool]:
        """The enabled extensions' sections, and whether any has news."""
        out: JsonDict = {}
        news = False
        memberships: dict[str, str] | None = None
        for key, config in req.extensions.items():
            extension = self.extensions.get(key)
            if extension is None or not config.get("enabled", False):
                continue
            if memberships is None:
                memberships = {r: room.membership for r, room in rooms.items()}
            ctx = ExtensionContext(
                user_id=requester.user_id,
                device_id=requester.device_id,
                since=since,
                upto=upto,
                list_rooms=sel.list_rooms,
                subscribed_rooms=sel.subscribed,
                response_rooms=out_rooms,
                memberships=memberships,
                memory=conn.extensions.get(key),
            )
            answer = await extension.compute(ctx, config)
            if answer.response is not None:
                out[key] = answer.response
            if answer.memory is not None:
                changes.extensions[key] = answer.memory
            news = news or answer.news
        return out, news


def _forgettable(
    conn: Connection, rooms: Mapping[str, UserRoom], sel: Selection, user_id: str
) -> set[str]:
    """Rooms the connection can stop remembering (so that its state stays
    one entry per room the user is in, not every room it ever sent). Of the
    rooms last sent with a leave or ban: those forgotten or no longer the
    user's, and those the user left themselves once the client has the leave
    (the lists no longer show them), unless a subscription still asks for
    them. Sent again later, such a room comes whole (``initial``), as after
    a rejoin."""
    out = set()
    for room_id in conn.parted:
        sent = conn.rooms[room_id]
        room = rooms.get(room_id)
        if room is None:
            out.add(room_id)
        elif (
            room_id not in sel.configs
            and room.membership == Membership.LEAVE
            and room.sender == user_id
            and sent.membership_stream == room.stream_ordering
        ):
            out.add(room_id)
    return out


def _read_key(user_id: str, room_id: str) -> str:
    return f"{user_id}\t{room_id}"
