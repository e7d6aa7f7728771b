"""A small Matrix client-server API client for an application service.

It authenticates with the ``as_token`` and acts as a user of the bridge's
namespace by adding ``user_id=`` (spec v1.19, "Identity assertion"). Puppets
are registered with ``m.login.application_service``.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from typing import Any
from urllib.parse import quote

import treq
from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectError
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.web.client import ResponseFailed

logger = logging.getLogger(__name__)

RETRIES = 5
RETRY_STATUSES = (429, 502, 503, 504)


class MatrixError(Exception):
    """The homeserver answered with an error."""

    def __init__(self, code: int, body: dict[str, Any]) -> None:
        super().__init__(f"{code} {body.get('errcode')}: {body.get('error')}")
        self.code = code
        self.errcode = str(body.get("errcode", ""))
        self.body = body


class MatrixClient:
    """Client-server calls as the bridge bot or one of its puppets."""

    def __init__(
        self,
        reactor: IReactorTime,
        homeserver_url: str,
        as_token: str,
        server_name: str,
        bot_localpart: str,
    ) -> None:
        self._reactor = reactor
        self._base = homeserver_url.rstrip("/")
        self._as_token = as_token
        self.server_name = server_name
        self.bot_user_id = f"@{bot_localpart}:{server_name}"
        self._txn_ids = itertools.count()
        self._txn_prefix = str(int(time.time() * 1000))
        self._registered: set[str] = {self.bot_user_id}

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        as_user: str | None = None,
    ) -> dict[str, Any]:
        """One call; ``as_user`` masquerades (omit it to act as the bot).

        A connection failure, 429 or 502-504 (the homeserver restarting) is
        retried with backoff, up to ``RETRIES`` times; a retried send keeps its
        transaction ID, so it is not duplicated.

        Raises:
            MatrixError: a non-2xx answer.
        """
        delay = 1.0
        for attempt in range(RETRIES + 1):
            try:
                return await self._request_once(method, path, body, as_user)
            except MatrixError as exc:
                if exc.code not in RETRY_STATUSES or attempt == RETRIES:
                    raise
                wait = float(exc.body.get("retry_after_ms", 0)) / 1000 or delay
            except (ConnectError, ResponseFailed, TimeoutError, CancelledError):
                if attempt == RETRIES:
                    raise
                wait = delay
            logger.warning("Homeserver request failed; retrying in %.0f s", wait)
            await deferLater(self._reactor, wait, lambda: None)
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    async def _request_once(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        as_user: str | None,
    ) -> dict[str, Any]:
        params = {"user_id": as_user} if as_user else {}
        headers: dict[bytes | str, bytes | str] = {
            "Authorization": f"Bearer {self._as_token}"
        }
        response = await treq.request(
            method,
            self._base + path,
            params=params,
            headers=headers,
            json=body,
            timeout=60,
        )
        raw = await response.content()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {
                "errcode": "M_UNKNOWN",
                "error": raw[:200].decode("utf-8", "replace"),
            }
        if not 200 <= response.code < 300:
            raise MatrixError(response.code, data)
        return dict(data)

    async def ensure_registered(self, localpart: str) -> str:
        """Register a puppet in our namespace (already registered is fine)."""
        user_id = self.user_id(localpart)
        if user_id in self._registered:
            return user_id
        try:
            await self.request(
                "POST",
                "/_matrix/client/v3/register",
                {"type": "m.login.application_service", "username": localpart},
            )
        except MatrixError as exc:
            if exc.errcode != "M_USER_IN_USE":
                raise
        self._registered.add(user_id)
        return user_id

    async def set_displayname(self, user_id: str, name: str) -> None:
        await self.request(
            "PUT",
            f"/_matrix/client/v3/profile/{quote(user_id)}/displayname",
            {"displayname": name},
            as_user=user_id,
        )

    async def join(self, room: str, user_id: str | None = None) -> str:
        """Join a room (ID or alias) and return its ID."""
        result = await self.request(
            "POST", f"/_matrix/client/v3/join/{quote(room)}", {}, as_user=user_id
        )
        return str(result["room_id"])

    async def ensure_joined(self, room_id: str, user_id: str) -> None:
        """Join ``user_id`` to a room, invited by the bot if the room needs it."""
        try:
            await self.join(room_id, user_id)
            return
        except MatrixError as exc:
            if exc.code != 403:
                raise
        await self.invite(room_id, user_id)
        await self.join(room_id, user_id)

    async def invite(self, room_id: str, user_id: str) -> None:
        try:
            await self.request(
                "POST",
                f"/_matrix/client/v3/rooms/{quote(room_id)}/invite",
                {"user_id": user_id},
            )
        except MatrixError as exc:
            if "already" not in str(exc.body.get("error", "")).lower():
                raise

    async def leave(self, room_id: str, user_id: str | None = None) -> None:
        await self.request(
            "POST",
            f"/_matrix/client/v3/rooms/{quote(room_id)}/leave",
            {},
            as_user=user_id,
        )

    async def send(
        self,
        room_id: str,
        content: dict[str, Any],
        user_id: str | None = None,
        event_type: str = "m.room.message",
    ) -> str:
        """Send an event; returns its ID."""
        txn_id = f"{self._txn_prefix}.{next(self._txn_ids)}"
        result = await self.request(
            "PUT",
            f"/_matrix/client/v3/rooms/{quote(room_id)}/send/{event_type}/{txn_id}",
            content,
            as_user=user_id,
        )
        return str(result["event_id"])

    async def create_room(self, body: dict[str, Any]) -> str:
        result = await self.request("POST", "/_matrix/client/v3/createRoom", body)
        return str(result["room_id"])
