"""``POST /hooks/{token}``: an incoming webhook posts a message into its room.

Body (JSON object, at most 64 KiB): ``text`` (required, the plain body),
``html`` (optional, sent as ``formatted_body`` in ``org.matrix.custom.html``),
``username`` (optional: the message comes from a puppet with that display name
rather than the bot) and ``msgtype`` (``m.text``, the default, ``m.notice`` or
``m.emote``). Answers 200 ``{"event_id"}``; an unknown token 403
``M_FORBIDDEN`` and nothing is posted; a bad body 400 ``M_BAD_JSON``.
"""

from __future__ import annotations

import html
import json
import logging
import re
from typing import Any

from chatly_bridge_kit.matrix import MatrixClient, MatrixError
from chatly_bridge_kit.state import BridgeState
from twisted.internet.defer import Deferred
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from chatly_webhooks_bridge.tokens import room_for_token

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MSGTYPES = ("m.text", "m.notice", "m.emote")
_LOCALPART_BAD = re.compile(r"[^a-z0-9._=\-/]")


def _json(request: Request, code: int, body: dict[str, Any]) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(body).encode()


def parse_hook_body(raw: bytes) -> dict[str, Any]:
    """The message content for a hook body.

    Raises:
        ValueError: not a JSON object with a string ``text``, or bad fields.
    """
    body = json.loads(raw)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise ValueError("Body must be a JSON object with a string 'text'")
    msgtype = body.get("msgtype", "m.text")
    if msgtype not in MSGTYPES:
        raise ValueError(f"msgtype must be one of {', '.join(MSGTYPES)}")
    content: dict[str, Any] = {"msgtype": msgtype, "body": body["text"]}
    html = body.get("html")
    if html is not None:
        if not isinstance(html, str):
            raise ValueError("'html' must be a string")
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = html
    username = body.get("username")
    if username is not None and (not isinstance(username, str) or not username.strip()):
        raise ValueError("'username' must be a non-empty string")
    return {"content": content, "username": username}


def _prefixed(content: dict[str, Any], username: str) -> dict[str, Any]:
    """``content`` with ``username: `` in front, for a message the bot posts."""
    out = dict(content, body=f"{username}: {content['body']}")
    if "formatted_body" in out:
        name = html.escape(username)
        out["formatted_body"] = f"<b>{name}</b>: {out['formatted_body']}"
    return out


class IncomingHookResource(Resource):
    """The ``hooks`` child of the bridge's site."""

    isLeaf = True

    def __init__(
        self, client: MatrixClient, state: BridgeState, puppet_prefix: str
    ) -> None:
        super().__init__()
        self._client = client
        self._state = state
        self._prefix = puppet_prefix

    def render_POST(self, request: Request) -> bytes | int:
        token = "/".join(p.decode() for p in request.postpath or [] if p)
        room_id = room_for_token(self._state, token) if token else None
        if room_id is None:
            return _json(
                request, 403, {"errcode": "M_FORBIDDEN", "error": "Unknown webhook"}
            )
        raw = request.content.read(MAX_BODY + 1) if request.content else b""
        if len(raw) > MAX_BODY:
            return _json(
                request, 413, {"errcode": "M_TOO_LARGE", "error": "Body too large"}
            )
        try:
            parsed = parse_hook_body(raw)
        except ValueError as exc:
            return _json(request, 400, {"errcode": "M_BAD_JSON", "error": str(exc)})
        Deferred.fromCoroutine(self._post(request, room_id, parsed))
        return NOT_DONE_YET

    async def _post(
        self, request: Request, room_id: str, parsed: dict[str, Any]
    ) -> None:
        content, username = parsed["content"], parsed["username"]
        try:
            try:
                sender = await self._sender(room_id, username)
            except MatrixError as exc:
                if exc.code != 403:
                    raise
                # The bot may not invite puppets here: post as the bot, named.
                sender, content = None, _prefixed(content, username)
            event_id = await self._client.send(room_id, content, sender)
            code, body = 200, {"event_id": event_id}
        except MatrixError as exc:
            logger.warning("Posting a webhook message failed: %s", exc)
            code, body = (
                502,
                {"errcode": "M_UNKNOWN", "error": "The homeserver refused the message"},
            )
        except Exception:
            logger.exception("Posting a webhook message failed")
            code, body = 500, {"errcode": "M_UNKNOWN", "error": "Internal error"}
        if not request.finished and not request._disconnected:
            request.write(_json(request, code, body))
            request.finish()

    async def _sender(self, room_id: str, username: str | None) -> str | None:
        """The puppet for ``username`` (joined, named), or None for the bot."""
        if username is None:
            return None
        localpart = self._prefix + (_LOCALPART_BAD.sub("_", username.lower()) or "_")
        user_id = await self._client.ensure_registered(localpart)
        if self._state.get("displaynames", user_id) != username:
            await self._client.set_displayname(user_id, username)
            self._state.put("displaynames", user_id, username)
        if not self._state.get("joined", f"{room_id} {user_id}"):
            await self._client.ensure_joined(room_id, user_id)
            self._state.put("joined", f"{room_id} {user_id}", True)
        return user_id
