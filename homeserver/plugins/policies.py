"""The plugins' answers to the checks services ask for.

``PluginRoomPolicy`` and ``PluginAccountPolicy`` implement the Protocols the
rooms and accounts domains declare (``services/rooms/ports.py``,
``services/accounts/policy.py``) by calling the hooks; the bind step plugs
them in. Each hook's fail-open or fail-closed rule is the one its spec in
``hookspecs.py`` documents: the caller turns a failure into None.
"""

from __future__ import annotations

import copy
import logging

from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.plugins.caller import HookCaller
from homeserver.plugins.types import (
    Deny,
    EventDraft,
    LoginAttempt,
    RegistrationAttempt,
    RoomCreationAttempt,
)
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)


def deny_error(answer: object, hook: str) -> MatrixError | None:
    """The MatrixError of a ``Deny`` answer; None for any other answer."""
    if isinstance(answer, Deny):
        return MatrixError(answer.status, answer.error, answer.errcode)
    return None


def _unexpected(answer: object, hook: str) -> None:
    logger.warning("a plugin answered %s with %r: ignored", hook, type(answer))


class PluginRoomPolicy:
    """``RoomPolicy`` through ``chatly_check_event`` and
    ``chatly_check_room_creation``."""

    def __init__(self, hooks: HookCaller) -> None:
        self.hooks = hooks

    async def check_local_event(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: JsonDict,
        state_key: str | None,
        device_id: str | None,
    ) -> JsonDict:
        draft = EventDraft(
            room_id=room_id,
            sender=sender,
            type=event_type,
            content=copy.deepcopy(content),
            state_key=state_key,
            device_id=device_id,
        )
        answer = await self.hooks.first("chatly_check_event", draft=draft)
        if answer is None:
            return content
        error = deny_error(answer, "chatly_check_event")
        if error is not None:
            raise error
        if isinstance(answer, EventDraft) and isinstance(answer.content, dict):
            return answer.content
        _unexpected(answer, "chatly_check_event")
        return content

    async def check_room_creation(self, creator: str, request: object) -> None:
        attempt = RoomCreationAttempt(
            creator=creator,
            preset=getattr(request, "preset", None),
            visibility=str(getattr(request, "visibility", "private")),
            name=getattr(request, "name", None),
            topic=getattr(request, "topic", None),
            alias_localpart=getattr(request, "room_alias_name", None),
            invite=tuple(getattr(request, "invite", ())),
            is_direct=bool(getattr(request, "is_direct", False)),
            room_version=getattr(request, "room_version", None),
        )
        await self._check("chatly_check_room_creation", attempt=attempt)

    async def _check(self, hook: str, **kwargs: object) -> None:
        answer = await self.hooks.first(hook, **kwargs)
        error = deny_error(answer, hook)
        if error is not None:
            raise error
        if answer is not None:
            _unexpected(answer, hook)


class PluginAccountPolicy:
    """``AccountPolicy`` through the registration and login hooks.

    Args:
        hooks: the hook caller.
        login_types: the extra login types, asked once at start-up
            (``chatly_login_types``).
    """

    def __init__(self, hooks: HookCaller, login_types: list[str]) -> None:
        self.hooks = hooks
        self._login_types = login_types

    async def check_registration(
        self, localpart: str | None, client_ip: str, guest: bool
    ) -> None:
        attempt = RegistrationAttempt(
            localpart=localpart, client_ip=client_ip, guest=guest
        )
        answer = await self.hooks.first("chatly_check_registration", attempt=attempt)
        error = deny_error(answer, "chatly_check_registration")
        if error is not None:
            raise error

    async def check_password(self, user_id: str, password: str) -> bool | None:
        answer = await self.hooks.first(
            "chatly_check_password", user_id=user_id, password=password
        )
        if answer is None or isinstance(answer, bool):
            return answer
        _unexpected(answer, "chatly_check_password")
        return None

    def login_types(self) -> list[str]:
        return self._login_types

    async def login(self, login_type: str, body: JsonDict, client_ip: str) -> str:
        attempt = LoginAttempt(
            login_type=login_type, body=copy.deepcopy(body), client_ip=client_ip
        )
        answer = await self.hooks.first("chatly_login", attempt=attempt)
        error = deny_error(answer, "chatly_login")
        if error is not None:
            raise error
        if isinstance(answer, str):
            return answer
        # Nobody answered, or a plugin failed: fail closed.
        raise Forbidden("Login refused", Codes.FORBIDDEN)

    async def check_login(self, user_id: str, login_type: str, client_ip: str) -> None:
        answer = await self.hooks.first(
            "chatly_check_login",
            user_id=user_id,
            login_type=login_type,
            client_ip=client_ip,
        )
        error = deny_error(answer, "chatly_check_login")
        if error is not None:
            raise error
