"""The published room directory: ``GET``/``POST /publicRooms``.

Spec: client-server API, "Published room directory" (list_public_rooms.yaml).

Choices where the spec leaves room (following Synapse): published rooms are
listed only if they have joined members and are joinable (``public``, ``knock``
or ``knock_restricted``) or ``world_readable``; they are ordered by joined
members, most first, then by room ID; one page holds at most 100 rooms. The
pagination tokens are opaque positions in that order (members, room ID and a
direction), so they stay valid while rooms come and go.

Cost: one transaction reads every published room's member count and the IDs
of its directory state; the events come in one batch through the event cache.
Filtering and paging then run in memory, which is fine for directories of
thousands of rooms.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Sequence

import attrs

from homeserver.errors import InvalidParam
from homeserver.events.ids import is_valid_server_name
from homeserver.events.model import Event, EventTypes, JoinRules
from homeserver.services.rooms.ports import NoRemotePublicRooms, RemotePublicRoomsPort
from homeserver.storage.stores.directory import (
    ALL_NETWORKS,
    DirectoryStore,
    Network,
    PublishedRoom,
)
from homeserver.storage.stores.events import EventStore
from homeserver.types import JsonDict
from homeserver.util.json_values import find_bad_value
from homeserver.util.ports import Port

MAX_LIMIT = 100
LISTED_JOIN_RULES = (JoinRules.PUBLIC, JoinRules.KNOCK, JoinRules.KNOCK_RESTRICTED)
STATE_TYPES = (
    EventTypes.CREATE,
    EventTypes.JOIN_RULES,
    EventTypes.NAME,
    EventTypes.TOPIC,
    EventTypes.CANONICAL_ALIAS,
    EventTypes.HISTORY_VISIBILITY,
    EventTypes.GUEST_ACCESS,
    EventTypes.AVATAR,
)
# A forward token before every room, and a backward token after every room.
_BEFORE_ALL = (2**62, "")
_AFTER_ALL = (-1, "")


@attrs.frozen
class PublicRoomsQuery:
    """A parsed ``/publicRooms`` request.

    Args:
        limit: rooms per page; None or 0 means the maximum (100).
        since: a ``next_batch`` or ``prev_batch`` token.
        server: the server whose directory is wanted; None for this one.
        search_term: ``filter.generic_search_term``.
        room_types: ``filter.room_types`` (None in it = rooms without a type);
            None for every type.
        third_party_instance_id: a bridged network's directory,
            ``{appserviceId}|{networkId}`` (the ``instance_id`` of
            /thirdparty/protocols).
        include_all_networks: this server's directory and every bridged
            network's.
    """

    limit: int | None = None
    since: str | None = None
    server: str | None = None
    search_term: str | None = None
    room_types: tuple[str | None, ...] | None = None
    third_party_instance_id: str | None = None
    include_all_networks: bool = False


class RoomListService:
    """Lists this server's published rooms."""

    def __init__(
        self, server_name: str, store: DirectoryStore, events: EventStore
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.events = events
        # Asks another server's directory (federation plugs itself in).
        self.remote: Port[RemotePublicRoomsPort] = Port(NoRemotePublicRooms())

    async def get_public_rooms(self, query: PublicRoomsQuery) -> JsonDict:
        """One page of the directory.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a bad limit, token or server
                name; 502 M_UNKNOWN for another server's directory (that needs
                federation, which this server does not do yet; Synapse answers
                502 when it cannot reach the server).
        """
        if query.limit is not None and query.limit < 0:
            raise InvalidParam("limit must not be negative")
        limit = MAX_LIMIT if not query.limit else min(query.limit, MAX_LIMIT)
        bound = decode_token(query.since) if query.since else None
        if query.server is not None and query.server != self.server_name:
            if not is_valid_server_name(query.server):
                raise InvalidParam(f"Invalid server name: {query.server}")
            return await self.remote.get().public_rooms(query.server, query)
        network = _network(query)
        entries = [e for e in await self._listed_entries(network) if _matches(e, query)]
        entries.sort(key=_sort_key)
        page = paginate(entries, limit, bound)
        page["total_room_count_estimate"] = len(entries)
        return page

    async def _listed_entries(self, network: Network) -> list[JsonDict]:
        rooms = await self.store.get_published_rooms(STATE_TYPES, network)
        event_ids = [eid for room in rooms for eid in room.state_ids.values()]
        events = await self.events.get_events(event_ids)
        entries = []
        for room in rooms:
            entry = room_entry(room, events)
            if entry is not None:
                entries.append(entry)
        return entries


def _network(query: PublicRoomsQuery) -> Network:
    """Which list a query asks for (``DirectoryStore.get_published_rooms``).

    Raises:
        MatrixError: 400 M_INVALID_PARAM for both a network and all of them.
    """
    instance = query.third_party_instance_id
    if query.include_all_networks:
        if instance is not None:
            raise InvalidParam(
                "third_party_instance_id cannot be used with include_all_networks"
            )
        return ALL_NETWORKS
    if instance is None:
        return None
    appservice_id, sep, network_id = instance.partition("|")
    # An instance ID of no application service's form names an empty list.
    return (appservice_id, network_id) if sep else ("", "")


def room_entry(room: PublishedRoom, events: dict[str, Event]) -> JsonDict | None:
    """The directory entry of a published room, or None if it is not listed."""

    def content(event_type: str) -> JsonDict:
        event = events.get(room.state_ids.get(event_type, ""))
        return event.content if event is not None else {}

    join_rule = content(EventTypes.JOIN_RULES).get("join_rule")
    world_readable = (
        content(EventTypes.HISTORY_VISIBILITY).get("history_visibility")
        == "world_readable"
    )
    if room.joined_members <= 0 or not (
        world_readable or join_rule in LISTED_JOIN_RULES
    ):
        return None
    entry: JsonDict = {
        "room_id": room.room_id,
        "num_joined_members": room.joined_members,
        "world_readable": world_readable,
        "guest_can_join": content(EventTypes.GUEST_ACCESS).get("guest_access")
        == "can_join",
    }
    optional = {
        "name": content(EventTypes.NAME).get("name"),
        "topic": plain_topic(content(EventTypes.TOPIC)),
        "canonical_alias": content(EventTypes.CANONICAL_ALIAS).get("alias"),
        "avatar_url": content(EventTypes.AVATAR).get("url"),
        "join_rule": join_rule,
        "room_type": content(EventTypes.CREATE).get("type"),
    }
    entry.update({k: v for k, v in optional.items() if isinstance(v, str) and v})
    return entry


def plain_topic(content: JsonDict) -> str | None:
    """The plain-text topic: ``topic``, else the ``text/plain`` entry of ``m.topic``."""
    topic = content.get("topic")
    if isinstance(topic, str) and topic:
        return topic
    block = content.get("m.topic")
    texts = block.get("m.text") if isinstance(block, dict) else None
    for text in texts if isinstance(texts, list) else []:
        if (
            isinstance(text, dict)
            and text.get("mimetype", "text/plain") == "text/plain"
            and isinstance(text.get("body"), str)
        ):
            return str(text["body"])
    return None


def _matches(entry: JsonDict, query: PublicRoomsQuery) -> bool:
    if query.room_types is not None and entry.get("room_type") not in query.room_types:
        return False
    if query.search_term:
        term = query.search_term.casefold()
        fields = (entry.get(k) for k in ("name", "topic", "canonical_alias"))
        return any(isinstance(f, str) and term in f.casefold() for f in fields)
    return True


def _sort_key(entry: JsonDict) -> tuple[int, str]:
    return (-int(entry["num_joined_members"]), str(entry["room_id"]))


def encode_token(position: tuple[int, str], forwards: bool) -> str:
    """An opaque token for the rooms after (or before) a (members, room_id) position."""
    raw = json.dumps([position[0], position[1], "f" if forwards else "b"])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str) -> tuple[tuple[int, str], bool]:
    """The position and direction of a token; 400 M_INVALID_PARAM if malformed."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        members, room_id, direction = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidParam("Invalid pagination token") from None
    if (
        not isinstance(members, int)
        or not isinstance(room_id, str)
        or direction not in ("f", "b")
        or find_bad_value([members, room_id]) is not None
    ):
        raise InvalidParam("Invalid pagination token")
    return (members, room_id), direction == "f"


def _position(entry: JsonDict) -> tuple[int, str]:
    return (int(entry["num_joined_members"]), str(entry["room_id"]))


def paginate(
    entries: Sequence[JsonDict],
    limit: int,
    bound: tuple[tuple[int, str], bool] | None,
) -> JsonDict:
    """One page of sorted ``entries`` with its ``next_batch``/``prev_batch`` tokens.

    A forward token names the last room of the page before: the page holds the
    rooms after it. A backward token names the first room of the page after: the
    page holds the ``limit`` rooms before it, still listed largest first.
    """
    keys = [_sort_key(e) for e in entries]
    if bound is None:
        start, end = 0, min(limit, len(entries))
    else:
        (members, room_id), forwards = bound
        key = (-members, room_id)
        if forwards:
            start = bisect.bisect_right(keys, key)
            end = min(start + limit, len(entries))
        else:
            end = bisect.bisect_left(keys, key)
            start = max(0, end - limit)
    chunk = list(entries[start:end])
    page: JsonDict = {"chunk": chunk}
    if end < len(entries):
        after = _position(chunk[-1]) if chunk else _BEFORE_ALL
        page["next_batch"] = encode_token(after, forwards=True)
    if start > 0:
        before = _position(chunk[0]) if chunk else _AFTER_ALL
        page["prev_batch"] = encode_token(before, forwards=False)
    return page
