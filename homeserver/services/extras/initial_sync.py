"""The legacy initial sync Synapse still serves: GET /initialSync and
GET /rooms/{roomId}/initialSync.

Spec: client-server API, the deprecated "GET /initialSync" and
"GET /rooms/{roomId}/initialSync" (data/api/client-server/old_sync.yaml and
room_initial_sync.yaml). The answers are shaped as Synapse's: per room its
``membership``, ``visibility``, recent ``messages`` (oldest first, with
``start`` and ``end`` tokens), ``state`` and ``account_data``; an invited
room carries ``invite`` and ``inviter`` instead. The ``end`` tokens are
/sync tokens, which GET /events continues from.
"""

from __future__ import annotations

from collections.abc import Collection

from homeserver.events.model import EventTypes, Membership
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.pagination import MessagesRequest, PaginationService
from homeserver.services.reading.personal import PersonalFilter
from homeserver.services.reading.room_reads import RoomReadService
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import VisibilityService
from homeserver.services.rooms.directory import DirectoryService
from homeserver.services.sync.sources import (
    AccountDataSource,
    PresenceSource,
    ReceiptSource,
)
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import ACCOUNT_DATA, PRESENCE, RECEIPTS
from homeserver.streams.tokens import START_OF_ROOM, Direction, StreamToken
from homeserver.types import JsonDict

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000


class InitialSyncService:
    """Snapshots of all the user's rooms, or of one room."""

    def __init__(
        self,
        *,
        events: EventStore,
        room_state: RoomStateStore,
        visibility: VisibilityService,
        personal: PersonalFilter,
        serializer: EventSerializer,
        room_reads: RoomReadService,
        pagination: PaginationService,
        directory: DirectoryService,
        account_data: AccountDataSource,
        receipts: ReceiptSource,
        presence: PresenceSource,
        notifier: Notifier,
    ) -> None:
        self.events = events
        self.room_state = room_state
        self.visibility = visibility
        self.personal = personal
        self.serializer = serializer
        self.room_reads = room_reads
        self.pagination = pagination
        self.directory = directory
        self.account_data = account_data
        self.receipts = receipts
        self.presence = presence
        self.notifier = notifier

    async def initial_sync(
        self, requester: Requester, limit: int | None, archived: bool
    ) -> JsonDict:
        """GET /initialSync: every room the user is joined or invited to (and
        with ``archived``, has left), with ``presence``, ``account_data``,
        ``receipts`` and the ``end`` token."""
        user_id = requester.user_id
        now = self.notifier.current_token()
        memberships = [Membership.JOIN, Membership.INVITE]
        if archived:
            memberships += [Membership.LEAVE, Membership.BAN]
        ignored = await self.personal.ignored_users(user_id)
        rooms = []
        for membership in memberships:
            for room_id in await self.room_state.get_rooms_for_user(
                user_id, membership
            ):
                room = await self._room(requester, room_id, membership, now, limit)
                if room.get("inviter") in ignored:
                    continue  # invites from ignored users are not sent
                rooms.append(room)
        joined = [r["room_id"] for r in rooms if r["membership"] == Membership.JOIN]
        return {
            "rooms": rooms,
            "presence": await self.presence.get_presence_for_user(
                user_id, None, now.get(PRESENCE.name)
            ),
            "account_data": await self.account_data.get_global_account_data(
                user_id, None, now.get(ACCOUNT_DATA.name)
            ),
            "receipts": await self._receipts(user_id, joined, now),
            "end": now.to_string(),
        }

    async def room_initial_sync(
        self, requester: Requester, room_id: str, limit: int | None
    ) -> JsonDict:
        """GET /rooms/{roomId}/initialSync: one room the user is in, has left,
        or may peek at (world-readable), with its members' ``presence`` and
        its ``receipts``.

        Raises:
            MatrixError: 404 for an unknown room, 403 when the user may not
                read it.
        """
        user_id = requester.user_id
        access = await self.visibility.check_room_access(room_id, user_id)
        now = self.notifier.current_token()
        body = await self._room(requester, room_id, access.membership, now, limit)
        if access.membership is None:
            # A peek: no membership to report, as Synapse answers.
            body.pop("membership", None)
        members = {
            e["state_key"]
            for e in body.get("state", [])
            if e["type"] == EventTypes.MEMBER
            and e["content"].get("membership") == Membership.JOIN
        }
        presence = await self.presence.get_presence_for_user(
            user_id, None, now.get(PRESENCE.name)
        )
        body["presence"] = [p for p in presence if p.get("sender") in members]
        body["receipts"] = await self._receipts(user_id, [room_id], now)
        return body

    async def _room(
        self,
        requester: Requester,
        room_id: str,
        membership: str | None,
        now: StreamToken,
        limit: int | None,
    ) -> JsonDict:
        body: JsonDict = {
            "room_id": room_id,
            "membership": membership,
            "visibility": "public"
            if await self.directory.is_public(room_id)
            else "private",
        }
        if membership == Membership.INVITE:
            current = await self.room_state.get_membership(room_id, requester.user_id)
            invite = await self.events.get_event(current[1]) if current else None
            if invite is not None:
                body["inviter"] = invite.sender
                body["invite"] = await self.serializer.serialize_one(invite, requester)
            return body
        page = await self.pagination.get_messages(
            requester,
            room_id,
            MessagesRequest(
                direction=Direction.BACKWARDS,
                from_token=now.room_token(),
                limit=min(limit or DEFAULT_LIMIT, MAX_LIMIT),
            ),
        )
        body["messages"] = {
            "chunk": list(reversed(page["chunk"])),
            "start": page.get("end", START_OF_ROOM.to_string()),
            "end": now.to_string(),
        }
        body["state"] = await self.room_reads.get_state(requester, room_id)
        data = await self.account_data.get_room_account_data(
            requester.user_id, [room_id], None, now.get(ACCOUNT_DATA.name)
        )
        body["account_data"] = data.get(room_id, [])
        return body

    async def _receipts(
        self, user_id: str, room_ids: Collection[str], now: StreamToken
    ) -> list[JsonDict]:
        by_room = await self.receipts.get_receipts_for_rooms(
            user_id, room_ids, None, now.get(RECEIPTS.name)
        )
        return [
            {"type": "m.receipt", "room_id": room_id, "content": content}
            for room_id, content in sorted(by_room.items())
        ]
