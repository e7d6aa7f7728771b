"""Server notices: messages from the server to one of its users.

A Synapse feature (its docs/server_notices.md), not a spec one, made of
standard parts so every client shows it: a system user (config
``server_notices.system_mxid_localpart``) invites the user to a room of
their own, tagged ``m.server_notice`` for them, where only the system user
may speak (``users_default: -10``). The room is made on the first notice and
reused while the user is joined or invited; after they leave, the next
notice makes a new one. Admins send through POST
/_synapse/admin/v1/send_server_notice, the server itself through
``send_notice``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence

import attrs

from homeserver.config.model import ServerNoticesConfig
from homeserver.errors import MatrixError, NotFound
from homeserver.events.model import EventTypes, Membership
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.room_creation import InitialState, RoomCreationService
from homeserver.services.sync_data.account_data import AccountDataService
from homeserver.services.sync_data.tags import TAG_TYPE
from homeserver.storage.stores.profiles import ProfileStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.server_notices import ServerNoticesStore
from homeserver.storage.stores.users import UserStore
from homeserver.types import JsonDict, UserID
from homeserver.util.linearizer import Linearizer

logger = logging.getLogger(__name__)

SERVER_NOTICE_TAG = "m.server_notice"
# Synapse's user type for the notices user (and other support accounts).
SUPPORT_USER_TYPE = "support"
# Admin retries of PUT /send_server_notice/{txnId} remembered, per process.
_MAX_REMEMBERED_TXNS = 1000


@attrs.frozen(kw_only=True)
class _State:
    type: str
    state_key: str
    content: JsonDict


@attrs.frozen(kw_only=True)
class _NoticesRoomRequest:
    """The createRoom request for a notices room (``RoomCreationRequest``)."""

    name: str | None
    topic: str | None
    invite: Sequence[str]
    initial_state: Sequence[InitialState]
    room_version: str | None = None
    visibility: str = "private"
    preset: str | None = "private_chat"
    # Not federated: the room is between this server and its user.
    creation_content: JsonDict = attrs.field(factory=lambda: {"m.federate": False})
    power_level_content_override: JsonDict = attrs.field(
        factory=lambda: {"users_default": -10}
    )
    room_alias_name: str | None = None
    is_direct: bool = False


class ServerNoticesService:
    """Finds or makes each user's notices room, and sends notices into it."""

    def __init__(
        self,
        *,
        config: ServerNoticesConfig,
        server_name: str,
        accounts: AccountService,
        users: UserStore,
        profiles: ProfileStore,
        room_creation: RoomCreationService,
        membership: MembershipService,
        creator: EventCreationService,
        room_state: RoomStateStore,
        account_data: AccountDataService,
        store: ServerNoticesStore,
    ) -> None:
        self.config = config
        self.server_name = server_name
        self.accounts = accounts
        self.users = users
        self.profiles = profiles
        self.room_creation = room_creation
        self.membership = membership
        self.creator = creator
        self.room_state = room_state
        self.account_data = account_data
        self.store = store
        self._linearizer = Linearizer()
        self._txns: OrderedDict[tuple[str, str], JsonDict] = OrderedDict()
        self._system_ready = False
        self._refreshed: set[str] = set()

    @property
    def enabled(self) -> bool:
        """Whether a notices user is configured."""
        return self.config.system_mxid_localpart is not None

    @property
    def system_user_id(self) -> str | None:
        """The notices user's ID, when enabled."""
        localpart = self.config.system_mxid_localpart
        return None if localpart is None else f"@{localpart}:{self.server_name}"

    async def send_notice(
        self,
        user_id: str,
        content: JsonDict,
        event_type: str = EventTypes.MESSAGE,
        state_key: str | None = None,
    ) -> JsonDict:
        """Send ``content`` to a local user in their notices room; answers
        ``{"event_id": ...}``.

        Raises:
            MatrixError: 400 when notices are off or the user is not local,
                404 for an unknown user; what sending an event raises.
        """
        system_user = self.system_user_id
        if system_user is None:
            raise MatrixError(400, "Server notices are not enabled on this server")
        target = UserID.parse(user_id)
        if target.domain != self.server_name:
            raise MatrixError(400, "Server notices can only be sent to local users")
        info = await self.users.get_user(user_id)
        if info is None or user_id == system_user:
            raise NotFound("User not found")
        room_id = await self.notice_room_for(user_id)
        logger.info("sending a server notice", extra={"target_user": user_id})
        event = await self.creator.send(
            room_id, system_user, event_type, content, state_key
        )
        return {"event_id": event.event_id}

    async def send_notice_as_admin(
        self,
        requester: Requester,
        txn_id: str | None,
        user_id: str,
        content: JsonDict,
        event_type: str,
        state_key: str | None,
    ) -> JsonDict:
        """The admin API: ``send_notice``, where a retry of the same
        ``txn_id`` by the same access token gets the first answer."""
        key = (requester.token_hash, txn_id) if txn_id is not None else None
        if key is not None and key in self._txns:
            return self._txns[key]
        result = await self.send_notice(user_id, content, event_type, state_key)
        if key is not None:
            self._txns[key] = result
            while len(self._txns) > _MAX_REMEMBERED_TXNS:
                self._txns.popitem(last=False)
        return result

    async def notice_room_for(self, user_id: str) -> str:
        """The user's notices room: the one they are joined or invited to,
        else a new one (one at a time per user)."""
        system_user = self.system_user_id
        assert system_user is not None
        async with self._linearizer.queue(user_id):
            room_id = await self.store.get_room(user_id)
            await self._ensure_system_user(system_user)
            if room_id is not None and await self._still_open(room_id, user_id):
                await self._refresh(room_id, system_user)
                return room_id
            room_id = await self._create_room(system_user, user_id)
            await self.store.upsert_room(user_id, room_id)
            self._refreshed.add(room_id)
            return room_id

    async def _still_open(self, room_id: str, user_id: str) -> bool:
        system = await self.room_state.get_membership(
            room_id, self.system_user_id or ""
        )
        user = await self.room_state.get_membership(room_id, user_id)
        return (
            system is not None
            and system[0] == Membership.JOIN
            and user is not None
            and user[0] in (Membership.JOIN, Membership.INVITE)
        )

    async def _refresh(self, room_id: str, system_user: str) -> None:
        """Bring an existing notices room up to the config (its name, topic
        and avatar, the notices user's display name and avatar), as Synapse
        does; checked once per room per process."""
        if room_id in self._refreshed:
            return
        config = self.config
        wanted: list[tuple[str, str, JsonDict]] = [
            (EventTypes.NAME, "", {"name": config.room_name})
        ]
        if config.room_topic is not None:
            wanted.append((EventTypes.TOPIC, "", {"topic": config.room_topic}))
        if config.room_avatar_url is not None:
            wanted.append((EventTypes.AVATAR, "", {"url": config.room_avatar_url}))
        profile = {
            "displayname": config.system_mxid_display_name,
            "avatar_url": config.system_mxid_avatar_url,
        }
        member = {"membership": Membership.JOIN}
        member.update({k: v for k, v in profile.items() if v is not None})
        wanted.append((EventTypes.MEMBER, system_user, member))
        for event_type, state_key, content in wanted:
            event_id = await self.room_state.get_current_state_event_id(
                room_id, event_type, state_key
            )
            current = (
                await self.creator.events.get_event(event_id) if event_id else None
            )
            have = current.content if current is not None else {}
            if any(have.get(k) != v for k, v in content.items()) or (
                event_type == EventTypes.MEMBER
                and any(k in have and k not in content for k in profile)
            ):
                await self.creator.send(
                    room_id, system_user, event_type, content, state_key
                )
        self._refreshed.add(room_id)

    async def _ensure_system_user(self, system_user: str) -> None:
        """Register the notices user (no password: nobody logs in as it) and
        keep its profile as configured; its join event carries the profile."""
        if self._system_ready:
            return
        if await self.users.get_user(system_user) is None:
            localpart = UserID.parse(system_user).localpart
            await self.accounts.register(localpart, None, user_type=SUPPORT_USER_TYPE)
        profile = await self.profiles.get_profile(system_user) or {}
        for field, value in (
            ("displayname", self.config.system_mxid_display_name),
            ("avatar_url", self.config.system_mxid_avatar_url),
        ):
            if profile.get(field) != value:
                await self.profiles.set_field(system_user, field, value)
        self._system_ready = True

    async def _create_room(self, system_user: str, user_id: str) -> str:
        config = self.config
        state: list[InitialState] = []
        if config.room_avatar_url:
            state.append(
                _State(
                    type=EventTypes.AVATAR,
                    state_key="",
                    content={"url": config.room_avatar_url},
                )
            )
        request = _NoticesRoomRequest(
            name=config.room_name,
            topic=config.room_topic,
            invite=[user_id],
            initial_state=state,
        )
        requester = Requester(UserID.parse(system_user), "", "", is_admin=True)
        room_id = str(
            (await self.room_creation.create_room(requester, request))["room_id"]
        )
        if config.auto_join:
            await self.membership.send_membership(
                room_id, user_id, user_id, Membership.JOIN, None, {}
            )
        await self.account_data.update_room_data(
            user_id,
            room_id,
            TAG_TYPE,
            lambda content: {
                **(content or {}),
                "tags": {**(content or {}).get("tags", {}), SERVER_NOTICE_TAG: {}},
            },
        )
        logger.info("created a server notices room", extra={"room_id": room_id})
        return room_id
