"""``PluginAPI``: the facade, the only part of the server a plugin touches.

Versioned (``PluginAPI.VERSION``) and documented in docs/plugins.md, "The
PluginAPI facade". Stability rules: within a major version, methods and the
types of ``homeserver.plugins.api`` (re-exported below) only gain optional
arguments and new members; anything else is a new major version. Nothing else
in ``homeserver`` is public to plugins.

Every method goes through the same services as the client API: events take
the normal build -> auth -> persist -> notify path, users register as
``/register`` does, and errors come back as ``PluginError`` with the Matrix
error code the client API would have answered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from homeserver.errors import Codes, MatrixError
from homeserver.events.model import EventTypes, Membership
from homeserver.plugins.api_support import (
    acting_as,
    as_json_value,
    as_plugin_errors,
    check_profile_fields,
    default_bot_localpart,
    room_options,
)
from homeserver.plugins.api_types import (
    AuthenticatedUser,
    JsonDict,
    KvEntry,
    PluginError,
    PluginHttpError,
    PluginHttpResponse,
    PluginRequest,
    PluginResponse,
    PluginUser,
    RouteHandler,
)
from homeserver.plugins.outbound import plugin_request
from homeserver.plugins.receivers import event_json
from homeserver.plugins.routes import PREFIX, authenticate
from homeserver.plugins.services import PluginServices
from homeserver.plugins.tasks import PluginTasks, Timer
from homeserver.services.accounts.auth import Requester
from homeserver.types import UserID, is_valid_localpart

__all__ = [
    "AuthenticatedUser",
    "JsonDict",
    "KvEntry",
    "PluginAPI",
    "PluginError",
    "PluginHttpError",
    "PluginHttpResponse",
    "PluginRequest",
    "PluginResponse",
    "PluginUser",
    "RouteHandler",
    "Timer",
]


class PluginAPI:
    """What a plugin may do with the server (docs/plugins.md).

    Args:
        name: the plugin's name (its entry-point name); names its routes
            (``/_chatly/plugins/{name}/``), its logger and its key-value space.
        services: the server parts behind the facade (built once per server
            by ``homeserver/composition/plugin_api.py``); not for plugins.
        config: the plugin's parsed config (an instance of the config class
            the plugin declares), or None.
        bot_localpart: the localpart of the plugin's bot user (default: the
            plugin's name, see ``default_bot_localpart``).
    """

    VERSION = "1.1"
    """The facade's version: ``major.minor``. A minor step only adds."""

    def __init__(
        self,
        name: str,
        services: PluginServices,
        config: Any = None,
        *,
        bot_localpart: str | None = None,
    ) -> None:
        self._name = name
        self._services = services
        self._config = config
        localpart = bot_localpart or default_bot_localpart(name)
        if not is_valid_localpart(localpart):
            raise ValueError(f"plugin {name}: invalid bot localpart {localpart!r}")
        self._bot_user_id = f"@{localpart}:{services.server_name}"
        self._bot_ready = False
        self._logger = logging.getLogger(f"chatly.plugins.{name}")
        self._tasks = PluginTasks(name, services.clock, self._logger)

    # ---- identity --------------------------------------------------------

    @property
    def name(self) -> str:
        """The plugin's name."""
        return self._name

    @property
    def config(self) -> Any:
        """The plugin's parsed config object (None if it declares none)."""
        return self._config

    @property
    def logger(self) -> logging.Logger:
        """The plugin's logger, ``chatly.plugins.{name}``."""
        return self._logger

    @property
    def server_name(self) -> str:
        """This server's name (the domain of its user IDs)."""
        return self._services.server_name

    @property
    def runs_background_tasks(self) -> bool:
        """Whether this process runs the server's background tasks: always in
        one process; in a worker deployment, where every process loads the
        plugins, exactly one process (docs/scaling.md). Schedule timers that
        must fire once per server (stored reminders, periodic jobs) only
        where this is true."""
        return self._services.runs_background_tasks

    @property
    def bot_user_id(self) -> str:
        """The user ID of the plugin's bot (created on first use)."""
        return self._bot_user_id

    def user_id_for(self, localpart: str) -> str:
        """The full user ID of a local ``localpart``."""
        return f"@{localpart}:{self.server_name}"

    # ---- users -----------------------------------------------------------

    async def create_user(
        self,
        localpart: str,
        *,
        password: str | None = None,
        displayname: str | None = None,
        admin: bool = False,
    ) -> PluginUser:
        """Register a local user, as ``/register`` would.

        Args:
            localpart: the new user's localpart.
            password: a password to log in with (None: the user cannot log in
                with a password).
            displayname: an initial display name.
            admin: make the user a server admin.

        Raises:
            PluginError: 400 ``M_INVALID_USERNAME``, ``M_USER_IN_USE`` or
                ``M_WEAK_PASSWORD``.
        """
        with as_plugin_errors():
            user_id = await self._services.accounts.register(localpart, password, admin)
            if displayname is not None:
                await self._services.profiles.set_field(
                    acting_as(user_id), user_id, "displayname", displayname
                )
        return await self._profile(user_id)

    async def user_exists(self, user_id: str) -> bool:
        """Whether ``user_id`` is a registered local user (deactivated or not)."""
        if not self._is_local(user_id):
            return False
        return await self._services.users.get_user(user_id) is not None

    async def get_user(self, user_id: str) -> PluginUser | None:
        """A local user and their profile, or None if there is no such user."""
        if not await self.user_exists(user_id):
            return None
        return await self._profile(user_id)

    async def set_profile(
        self,
        user_id: str | None = None,
        *,
        displayname: str | None = None,
        avatar_url: str | None = None,
    ) -> PluginUser:
        """Set a local user's (default: the bot's) display name and/or avatar
        (an ``mxc://`` URI), as ``PUT /profile`` does: the change reaches
        the user's rooms. Arguments left None are unchanged.

        Raises:
            PluginError: as ``PUT /profile`` would answer (400 for a value
                that is too long...).
        """
        requester = await self._requester(user_id)
        fields = {"displayname": displayname, "avatar_url": avatar_url}
        check_profile_fields(fields)
        with as_plugin_errors():
            for key, value in fields.items():
                if value is not None:
                    await self._services.profiles.set_field(
                        requester, requester.user_id, key, value
                    )
        return await self._profile(requester.user_id)

    async def ensure_bot_user(self) -> str:
        """Create the plugin's bot user if it does not exist yet; its user ID."""
        if self._bot_ready:
            return self._bot_user_id
        if not await self.user_exists(self._bot_user_id):
            localpart = UserID.parse(self._bot_user_id).localpart
            try:
                await self._services.accounts.register(localpart, None, user_type="bot")
            except MatrixError as exc:
                # Created meanwhile (another call of this plugin, or a restart).
                if exc.errcode != Codes.USER_IN_USE:
                    raise PluginError(exc.code, exc.msg, exc.errcode) from exc
        self._bot_ready = True
        return self._bot_user_id

    # ---- events ----------------------------------------------------------

    async def send_event(
        self,
        room_id: str,
        event_type: str,
        content: JsonDict,
        *,
        sender: str | None = None,
        txn_id: str | None = None,
    ) -> str:
        """Send a message-like event; returns its event ID.

        Args:
            room_id: the room.
            event_type: the event type (``m.room.message``...).
            content: the event content.
            sender: a local user to send as (default: the plugin's bot).
            txn_id: a transaction ID: a retry with the same one sends nothing
                new and returns the first event's ID.

        Raises:
            PluginError: as ``PUT /rooms/{roomId}/send`` would answer (403
                ``M_FORBIDDEN`` when the sender may not send it...).
        """
        requester = await self._requester(sender)
        with as_plugin_errors():
            result = await self._services.room_events.send_message(
                requester, room_id, event_type, txn_id, dict(content)
            )
        return str(result["event_id"])

    async def send_message(
        self,
        room_id: str,
        body: str,
        *,
        msgtype: str = "m.text",
        sender: str | None = None,
        extra: JsonDict | None = None,
    ) -> str:
        """Send an ``m.room.message`` with ``body``; returns its event ID.
        ``extra`` adds content keys (``format``, ``formatted_body``...)."""
        content = {"msgtype": msgtype, "body": body, **(extra or {})}
        return await self.send_event(
            room_id, EventTypes.MESSAGE, content, sender=sender
        )

    async def send_state(
        self,
        room_id: str,
        event_type: str,
        content: JsonDict,
        *,
        state_key: str = "",
        sender: str | None = None,
    ) -> str:
        """Set a state event; returns its event ID (the current one, if the
        state already holds exactly this content from this sender)."""
        requester = await self._requester(sender)
        with as_plugin_errors():
            result = await self._services.room_events.set_state(
                requester, room_id, event_type, state_key, dict(content)
            )
        return str(result["event_id"])

    # ---- rooms -----------------------------------------------------------

    async def create_room(
        self,
        *,
        sender: str | None = None,
        name: str | None = None,
        topic: str | None = None,
        invite: Sequence[str] = (),
        preset: str = "private_chat",
        is_direct: bool = False,
        visibility: str = "private",
        initial_state: Sequence[JsonDict] = (),
        power_level_content_override: JsonDict | None = None,
    ) -> str:
        """Create a room as ``sender`` (default: the bot), as ``POST
        /createRoom`` would with these fields; returns its ID.

        Args:
            sender: the creator (a local user), default the bot.
            name: the room's name, if any.
            topic: its topic, if any.
            invite: users to invite.
            preset: ``private_chat``, ``trusted_private_chat`` or ``public_chat``.
            is_direct: mark the invites as a direct chat.
            visibility: ``private`` or ``public`` (the room directory).
            initial_state: state events to send (dicts with ``type``,
                ``state_key`` and ``content``).
            power_level_content_override: keys to override in the default
                power levels.

        Raises:
            PluginError: as ``/createRoom`` would answer (400 ``M_INVALID_PARAM``...).
        """
        options = room_options(
            name=name,
            topic=topic,
            invite=invite,
            preset=preset,
            is_direct=is_direct,
            visibility=visibility,
            initial_state=initial_state,
            power_level_content_override=power_level_content_override,
        )
        requester = await self._requester(sender)
        with as_plugin_errors():
            result = await self._services.room_creation.create_room(requester, options)
        return str(result["room_id"])

    async def join_room(
        self, room_id_or_alias: str, *, user_id: str | None = None
    ) -> str:
        """Join a room (by ID or alias) as ``user_id`` (default: the bot);
        returns the room ID."""
        requester = await self._requester(user_id)
        with as_plugin_errors():
            return await self._services.membership.join(
                requester, room_id_or_alias, None
            )

    async def leave_room(
        self, room_id: str, *, user_id: str | None = None, reason: str | None = None
    ) -> None:
        """Leave a room (or reject an invite) as ``user_id`` (default: the bot)."""
        requester = await self._requester(user_id)
        with as_plugin_errors():
            await self._services.membership.leave(requester, room_id, reason)

    async def invite(
        self,
        room_id: str,
        invitee: str,
        *,
        sender: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Invite ``invitee`` to a room, as ``sender`` (default: the bot)."""
        requester = await self._requester(sender)
        with as_plugin_errors():
            await self._services.membership.change_other(
                requester, room_id, Membership.INVITE, invitee, reason
            )

    async def get_state_event(
        self, room_id: str, event_type: str, state_key: str = ""
    ) -> JsonDict | None:
        """The room's current state event of ``(event_type, state_key)``, or None."""
        event_id = await self._services.room_state.get_current_state_event_id(
            room_id, event_type, state_key
        )
        event = await self._services.events.get_event(event_id) if event_id else None
        if event is None or event.rejected_reason is not None:
            return None
        return event_json(event)

    async def get_room_state(self, room_id: str) -> list[JsonDict]:
        """The room's whole current state (empty for a room we do not know),
        ordered by type and state key."""
        state_ids = await self._services.room_state.get_current_state_ids(room_id)
        found = await self._services.events.get_events(list(state_ids.values()))
        events = [e for e in found.values() if e.rejected_reason is None]
        events.sort(key=lambda e: (e.type, e.state_key or ""))
        return [event_json(e) for e in events]

    async def get_members(
        self, room_id: str, membership: str | None = Membership.JOIN
    ) -> list[str]:
        """The user IDs whose current membership is ``membership`` (None:
        every user with a member event), sorted."""
        members = await self._services.room_state.get_members(room_id)
        return sorted(
            user_id
            for user_id, (current, _) in members.items()
            if membership is None or current == membership
        )

    async def get_event(self, event_id: str) -> JsonDict | None:
        """One event by ID, or None (unknown or rejected)."""
        event = await self._services.events.get_event(event_id)
        if event is None or event.rejected_reason is not None:
            return None
        return event_json(event)

    # ---- HTTP ------------------------------------------------------------

    @property
    def route_prefix(self) -> str:
        """Where the plugin's routes live: ``/_chatly/plugins/{name}``."""
        return f"{PREFIX}/{self._name}"

    def register_route(
        self,
        method: str,
        pattern: str,
        handler: RouteHandler,
        *,
        require_auth: bool = False,
    ) -> None:
        """Serve ``method`` requests to ``/_chatly/plugins/{name}{pattern}``.

        Args:
            method: ``GET``, ``PUT``, ``POST`` or ``DELETE`` (``GET`` also
                answers ``HEAD``).
            pattern: the path after the prefix, starting with ``/``; each
                ``{placeholder}`` matches one path segment and arrives in
                ``request.path_params``.
            handler: ``async def handler(request: PluginRequest)``, returning
                a ``PluginResponse``, a ``(code, json)`` pair or JSON (a 200).
                A ``PluginError`` it raises becomes Matrix error JSON; any
                other exception a 500.
            require_auth: refuse requests without a valid access token (401
                ``M_MISSING_TOKEN``/``M_UNKNOWN_TOKEN``); the user is in
                ``request.user``.

        Raises:
            ValueError: an unsupported method or a pattern without a leading ``/``.
        """
        self._services.routes.add(self._name, method, pattern, handler, require_auth)

    @staticmethod
    def json_response(
        body: Any, code: int = 200, headers: dict[str, str] | None = None
    ) -> PluginResponse:
        """A JSON answer with status ``code`` and extra ``headers``."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return PluginResponse(code, data.encode("utf-8"), headers=dict(headers or {}))

    async def authenticate(self, request: PluginRequest) -> AuthenticatedUser:
        """The user whose access token ``request`` carries (an
        ``Authorization: Bearer`` header or ``access_token`` query parameter).

        Raises:
            PluginError: 401 ``M_MISSING_TOKEN`` or ``M_UNKNOWN_TOKEN``; 403
                ``M_GUEST_ACCESS_FORBIDDEN`` for a guest.
        """
        with as_plugin_errors():
            return await authenticate(
                self._services.auth, request.headers, request.query, request.client_ip
            )

    # ---- outbound HTTP ---------------------------------------------------

    async def http_request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> PluginHttpResponse:
        """Send one HTTP request through the server's guarded client (since
        facade 1.1): addresses in ``plugins.ip_range_blacklist`` (and not in
        ``plugins.ip_range_whitelist``) are never connected to, checked after
        DNS resolution; redirects are not followed; the whole exchange is
        limited to ``plugins.http_timeout``.

        Args:
            method: ``GET``, ``HEAD``, ``POST``, ``PUT``, ``PATCH`` or ``DELETE``.
            url: an ``http://`` or ``https://`` URL.
            body: the request body.
            headers: request headers (``User-Agent`` is the server's).

        Returns:
            The answer, whatever its status (a 3xx included).

        Raises:
            PluginHttpError: no answer (denied address, bad URL, connection
                failure, timeout, body over 10 MiB).
        """
        return await plugin_request(self._services.http, method, url, body, headers)

    # ---- background work -------------------------------------------------

    def time_msec(self) -> int:
        """The server clock's time, in milliseconds since the epoch."""
        return self._services.clock.time_msec()

    async def sleep(self, seconds: float) -> None:
        """Wait on the server's clock without blocking it."""
        await self._services.clock.sleep(seconds)

    def run_in_background(
        self, fn: Callable[..., Any], *args: Any, name: str = "task"
    ) -> None:
        """Start ``fn(*args)`` (sync or async) now; a failure is logged and
        counted, and the task is cancelled at shutdown if still running."""
        self._tasks.run(name, fn, *args)

    def call_later(
        self, seconds: float, fn: Callable[..., Any], *args: Any, name: str = "timer"
    ) -> Timer:
        """Run ``fn(*args)`` (sync or async) once after ``seconds``."""
        return self._tasks.call_later(name, seconds, fn, *args)

    def looping_call(
        self,
        seconds: float,
        fn: Callable[[], Any],
        *,
        now: bool = False,
        name: str = "loop",
    ) -> Timer:
        """Run ``fn()`` (sync or async) every ``seconds`` (first at once if
        ``now``); a failing run is logged and the loop goes on."""
        return self._tasks.looping_call(name, seconds, fn, now)

    # ---- key-value store -------------------------------------------------

    async def kv_get(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key``, or ``default``."""
        found, value = await self._services.kv.get_value(self._name, key)
        return value if found else default

    async def kv_set(self, key: str, value: Any) -> None:
        """Store a JSON value (dicts, lists, strings, numbers, booleans,
        None) under ``key``, replacing any old one.

        Raises:
            ValueError: ``value`` is not JSON (or holds NaN or infinity).
        """
        await self._services.kv.upsert_value(
            self._name, key, as_json_value(value), self._services.clock.time_msec()
        )

    async def kv_delete(self, key: str) -> bool:
        """Delete ``key``; whether it was there."""
        return await self._services.kv.delete_value(self._name, key)

    async def kv_list(
        self, prefix: str = "", limit: int | None = None
    ) -> list[KvEntry]:
        """The entries whose key starts with ``prefix``, in key order."""
        rows = await self._services.kv.list_values(self._name, prefix, limit)
        return [KvEntry(key, value) for key, value in rows]

    # ---- lifecycle (called by the plugin host, not by plugins) -----------

    def close(self) -> None:
        """Cancel the plugin's timers, loops and tasks and drop its routes
        (the host calls this at shutdown)."""
        self._tasks.close()
        self._services.routes.remove_plugin(self._name)

    # ---- internals -------------------------------------------------------

    def _is_local(self, user_id: str) -> bool:
        try:
            return UserID.parse(user_id).domain == self.server_name
        except MatrixError:
            return False

    async def _profile(self, user_id: str) -> PluginUser:
        profile = await self._services.profiles.profiles.get_profile(user_id) or {}
        # Plain strings only: whatever the store holds, plugins see str | None.
        return PluginUser(
            user_id, profile.get("displayname"), profile.get("avatar_url")
        )

    async def _requester(self, user_id: str | None) -> Requester:
        """Who the plugin acts as: ``user_id`` (an active local user) or its bot.

        Raises:
            PluginError: 400 ``M_INVALID_PARAM`` for a user who is not local
                or does not exist; 403 ``M_USER_DEACTIVATED`` for a
                deactivated one.
        """
        if user_id is None:
            user_id = await self.ensure_bot_user()
        else:
            info = (
                await self._services.users.get_user(user_id)
                if self._is_local(user_id)
                else None
            )
            if info is None:
                raise PluginError(
                    400, f"{user_id} is not a local user", Codes.INVALID_PARAM
                )
            if info.deactivated:
                raise PluginError(
                    403, f"{user_id} is deactivated", Codes.USER_DEACTIVATED
                )
        return acting_as(user_id)
